"""Reading k* cells back: the tidy summary of every cell, and a study's cells."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from kstarlab.io import write_csv
from kstarlab.kstar.tables import SUMMARY_COLUMNS


def read_cell(path: str, cell: Sequence[str]) -> pd.DataFrame:
    """A per-class table with its (model, layer, transform, metric) columns in front."""
    frame = pd.read_csv(path, dtype={"class": str})
    for key, value in zip(("model", "layer", "transform", "metric"), cell, strict=True):
        frame[key] = value
    if "accuracy" not in frame:
        frame["accuracy"] = np.nan
    return frame[SUMMARY_COLUMNS]


def kstar_summary_table(inputs: Sequence[str], cells: Sequence[Sequence[str]], out: str) -> None:
    """The tidy summary: one row per (model, layer, transform, metric, class)."""
    frames = [read_cell(p, c) for p, c in zip(inputs, cells, strict=True)]
    write_csv(pd.concat(frames, ignore_index=True), out, index=False, float_format="%.17g")


def study_summary(inputs: Sequence[str], study: Mapping[str, Any]) -> pd.DataFrame:
    """The per-class tables of a study's cells, in one frame."""
    frames = [read_cell(p, c) for p, c in zip(inputs, study["cells"], strict=True)]
    return pd.concat(frames, ignore_index=True)


def cell_title(cell: Sequence[str], rows: Sequence[str]) -> str:
    """A cell's panel title: the axes the study's rows vary (all four when none)."""
    keys = ("model", "layer", "transform", "metric")
    shown = [v for k, v in zip(keys, cell, strict=True) if k in rows] or list(cell)
    return " / ".join(shown)
