"""k* of one latent-space file, written as two CSV files: what ``kstarlab kstar`` and the
workflow's k* job both run, so that the two write the same bytes.

The per-sample table has columns ``index, label, kstar, nearest`` and, when the file holds
predictions, ``correct`` (0/1). ``index`` is the sample's row in the latents file and
``nearest`` the ``index`` of its nearest sample of another class (the one at d_o, lowest
index on ties: `kstar_values` with ``return_nearest``). The per-class table is
`kstar_summary`'s, with the bootstrap interval of each class's γ. Floats are written with
``%.17g`` (they read back exactly), and both files are published together or not at all
(`kstarlab.io.write_csvs`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kstarlab.errors import InputError
from kstarlab.io import open_latents, write_csvs
from kstarlab.kstar.engine import kstar_values
from kstarlab.kstar.summary import BOOTSTRAP_RESAMPLES, kstar_summary

FLOAT_FORMAT = "%.17g"  # the shortest format that round-trips every float64


@dataclass
class KstarTables:
    """The k* values of one latent space and its per-class summary."""

    samples: pd.DataFrame  # index, label, kstar, nearest [, correct]
    summary: pd.DataFrame  # one row per class (`kstar_summary`)
    layer: str | None  # the layer read from an HDF5 latents file, None for plain arrays


def kstar_file(
    path: str | os.PathLike[str],
    layer: str | None = None,
    *,
    metric: str = "euclidean",
    p: float | None = None,
    dtype: str = "float32",
    block_size: int | None = None,
    device: str = "cpu",
    progress: bool = False,
    resamples: int | None = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
    out_samples: str | os.PathLike[str] | None = None,
    out_classes: str | os.PathLike[str] | None = None,
) -> KstarTables:
    """k* of every sample of the latents file ``path`` (``.npz`` or ``.h5``, `open_latents`)
    and the per-class table; writes the per-sample table to ``out_samples`` and the
    per-class one to ``out_classes`` when given, both or neither.

    ``metric``, ``p``, ``dtype``, ``block_size``, ``device`` and ``progress`` go to
    `kstar_values`; ``resamples`` and ``seed`` to `kstar_summary` (its bootstrap).
    """
    with open_latents(path, layer=layer) as data:
        k, nearest = kstar_values(
            data.X,
            data.y,
            metric=metric,
            p=p,
            dtype=dtype,
            block_size=block_size,
            device=device,
            progress=progress,
            return_nearest=True,
        )
        y = np.asarray(data.y)
        correct = None
        if data.predictions is not None:
            predictions = np.asarray(data.predictions)
            if predictions.shape != y.shape:
                raise InputError(
                    f"predictions in {path} have shape {predictions.shape}, labels {y.shape}"
                )
            correct = predictions == y
        summary = kstar_summary(
            k, y, class_names=data.class_names, accuracy=correct, resamples=resamples, seed=seed
        )
        found_layer = data.layer
    index = np.arange(y.size)  # the row in the latents file
    samples = pd.DataFrame({"index": index, "label": y, "kstar": k, "nearest": index[nearest]})
    if correct is not None:
        samples["correct"] = correct.astype(np.int8)
    tables = KstarTables(samples=samples, summary=summary, layer=found_layer)
    write_kstar_tables(tables, out_samples=out_samples, out_classes=out_classes)
    return tables


def write_kstar_tables(
    tables: KstarTables,
    *,
    out_samples: str | os.PathLike[str] | None = None,
    out_classes: str | os.PathLike[str] | None = None,
) -> None:
    """Write the per-sample and the per-class table (those given a path): all or none."""
    options = {"index": False, "float_format": FLOAT_FORMAT}
    outputs = {}
    if out_classes is not None:
        outputs[out_classes] = (tables.summary, options)
    if out_samples is not None:
        outputs[out_samples] = (tables.samples, options)
    if outputs:
        write_csvs(outputs)
