"""The k* paper's tables from the tidy summary, as CSV, Markdown and LaTeX.

The tidy summary has one row per (model, layer, transform, metric, class) with columns
``n, mean, std, skew, pattern, accuracy`` (the paper's), then ``skew_lo, skew_hi,
pattern_uncertain`` (the bootstrap interval of γ, `kstarlab.kstar.summary.skew_interval`).
A study varies some of the first four keys; its tables have one row per varied combination:

- the per-class table: for each selected class, μ, σ, γ, Acc and Pat (the paper's
  columns), then for each class the interval "γ lo", "γ hi" and "Pat?" (the pattern is
  uncertain: the interval crosses a threshold that decides it);
- the pattern-average table: for Fractured (A), Overlapped (B) and Clustered (C), the
  average μ, γ and Acc and the number N of classes, then the average over all classes
  (the paper's columns), then for each pattern "N?", how many of its N are uncertain.

A summary without the interval columns (``kstar_summary(..., resamples=None)``) gives the
paper's columns alone.

A table computed on pooled feature maps says so in its caption (`pooling_note`): the k*
paper flattens a layer's output, so averaged maps are another latent space.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from kstarlab.errors import InputError
from kstarlab.kstar.summary import (
    INTERVAL_COLUMNS,
    PATTERN_LETTER,
    PATTERNS,
    as_bool,
    pattern_averages,
)

KEYS = ("model", "layer", "transform", "metric")
PAPER_COLUMNS = [*KEYS, "class", "n", "mean", "std", "skew", "pattern", "accuracy"]
SUMMARY_COLUMNS = [*PAPER_COLUMNS, *INTERVAL_COLUMNS]
#: Per-class table headers of summary columns, of the paper's stats and of the intervals.
HEADERS = {
    "mean": "μ",
    "std": "σ",
    "skew": "γ",
    "skew_lo": "γ lo",
    "skew_hi": "γ hi",
    "pattern_uncertain": "Pat?",
}
PAPER_STATS = ("μ", "σ", "γ", "Acc", "Pat")
INTERVAL_STATS = tuple(HEADERS[c] for c in INTERVAL_COLUMNS)


POOLING_WORDS = {"spatial-mean": "averaged over space", "token-mean": "averaged over tokens"}


def pooled_layers(
    latents: Sequence[str | os.PathLike[str]], cells: Sequence[Sequence[str]]
) -> list[tuple[str, str, str, tuple[int, ...]]]:
    """``(model, layer, pooling, original shape)`` of each pooled layer of a study, read
    from the attributes of its cells' latents files (cells are (model, layer, transform,
    metric), in the order of ``latents``); empty when every layer is flattened."""
    from kstarlab.io import open_latents

    found: dict[tuple[str, str], tuple[str, tuple[int, ...]]] = {}
    read: set[tuple[str, str]] = set()
    for path, cell in zip(latents, cells, strict=True):
        model, layer = str(cell[0]), str(cell[1])
        if (str(path), layer) in read:
            continue
        read.add((str(path), layer))
        with open_latents(path, layer=layer) as data:
            if data.pooling != "none" and (model, layer) not in found:
                found[(model, layer)] = (data.pooling, data.original_shape or ())
    return [(model, layer, *value) for (model, layer), value in found.items()]


def pooling_note(pooled: Sequence[tuple[str, str, str, Sequence[int]]]) -> str:
    """The caption sentence of a table computed on pooled maps ("" when none is pooled).

    The k* paper's notebook flattens a layer's output before computing distances, so the
    conv rows of its Tables III–IV are flattened maps; averaged maps are another space.
    """
    if not pooled:
        return ""
    parts = []
    for model, layer, mode, shape in pooled:
        shape = tuple(int(v) for v in shape)
        words = POOLING_WORDS.get(mode, f"pooled ({mode})")
        kept = "" if not shape else f" → {shape[0] if mode == 'spatial-mean' else shape[-1]}"
        dims = f" ({'×'.join(map(str, shape))}{kept} features)" if shape else ""
        parts.append(f"{layer} of {model} {words}{dims}")
    return "Computed on pooled maps, not the paper's flattened layers: " + "; ".join(parts) + "."


def _check(summary: pd.DataFrame, row_keys: Sequence[str]) -> None:
    missing = set(PAPER_COLUMNS) - set(summary.columns)
    if missing:
        raise InputError(f"summary lacks column(s) {sorted(missing)}")
    bad = [k for k in row_keys if k not in KEYS]
    if bad:
        raise InputError(f"unknown row key(s) {bad}; choose from {list(KEYS)}")


def per_class_table(
    summary: pd.DataFrame, row_keys: Sequence[str], classes: Sequence[str]
) -> pd.DataFrame:
    """μ, σ, γ, Acc and Pat of the selected classes, one row per combination of row_keys;
    then, when the summary has them, each class's γ interval and uncertainty flag."""
    _check(summary, row_keys)
    names = summary["class"].astype(str)
    unknown = [c for c in classes if c not in set(names)]
    if unknown:
        raise InputError(f"selected class(es) {unknown} not in the summary")
    chosen = summary[names.isin([str(c) for c in classes])].copy()
    chosen["class"] = chosen["class"].astype(str)
    chosen["Pat"] = chosen["pattern"].map(PATTERN_LETTER)
    chosen["Acc"] = chosen["accuracy"] * 100
    values = ["mean", "std", "skew", "Acc", "Pat"]
    stats = [PAPER_STATS]
    if set(INTERVAL_COLUMNS) <= set(chosen.columns):
        chosen["pattern_uncertain"] = as_bool(chosen["pattern_uncertain"])
        values += list(INTERVAL_COLUMNS)
        stats.append(INTERVAL_STATS)
    wide = chosen.pivot_table(
        index=list(row_keys),
        columns="class",
        values=values,
        aggfunc="first",
        sort=False,
    )
    wide = wide.rename(columns=HEADERS, level=0)
    wide = wide.swaplevel(0, 1, axis=1)
    order = [(str(c), s) for group in stats for c in classes for s in group]
    return wide.reindex(columns=[o for o in order if o in wide.columns])


def pattern_row(summary: pd.DataFrame, *, count_all: bool = False) -> dict[tuple[str, str], Any]:
    """One row of a pattern-average table from one latent space's per-class summary:
    μ, γ, Acc and N of each pattern, then μ, γ and Acc over all classes (and their N when
    ``count_all``, as Table XXI's "Average on Entire Dataset" shows it); then, when the
    summary has ``pattern_uncertain``, each pattern's uncertain count N?."""
    averages = pattern_averages(summary).set_index("pattern")
    row: dict[tuple[str, str], Any] = {}
    for name in [*PATTERNS, "All"]:
        label = f"{name} ({PATTERN_LETTER[name]})" if name in PATTERN_LETTER else "All classes"
        row[(label, "μ")] = averages.loc[name, "mean"]
        row[(label, "γ")] = averages.loc[name, "skew"]
        row[(label, "Acc")] = averages.loc[name, "accuracy"] * 100
        if name != "All" or count_all:
            row[(label, "N")] = int(averages.loc[name, "n_classes"])
    if "pattern_uncertain" in summary.columns:
        for name in PATTERNS:
            row[(f"{name} ({PATTERN_LETTER[name]})", "N?")] = int(averages.loc[name, "n_uncertain"])
    return row


def pattern_table(summary: pd.DataFrame, row_keys: Sequence[str]) -> pd.DataFrame:
    """Per-pattern averages (μ, γ, Acc, N) and the all-class average, one row per combination;
    then, when the summary has ``pattern_uncertain``, each pattern's uncertain count N?."""
    _check(summary, row_keys)
    rows = {}
    for key, group in summary.groupby(list(row_keys), sort=False, dropna=False):
        rows[key if isinstance(key, tuple) else (key,)] = pattern_row(group)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index = pd.MultiIndex.from_tuples(table.index, names=list(row_keys))
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    return table


def _cell(value: Any, count: bool = False) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating, int, np.integer)) and not isinstance(value, bool):
        if math.isnan(value):
            return "—"
        return f"{int(value)}" if count else f"{value:.2f}"
    return str(value)


def _flat(table: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    columns = list(table.columns)
    counts = [(c[-1] if isinstance(c, tuple) else c) in ("N", "N?") for c in columns]
    head = [
        *table.index.names,
        *(" ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in columns),
    ]
    body = []
    for key, values in zip(table.index, table.itertuples(index=False), strict=True):
        keys = key if isinstance(key, tuple) else (key,)
        cells = [_cell(v, n) for v, n in zip(values, counts, strict=True)]
        body.append([*(str(k) for k in keys), *cells])
    return [str(h) for h in head], body


def to_markdown(table: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table with two decimals and "—" for missing values."""
    head, body = _flat(table)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines) + "\n"


def to_latex(table: pd.DataFrame, caption: str = "") -> str:
    """A booktabs LaTeX table with the same cells as `to_markdown`."""
    head, body = _flat(table)

    def esc(s: str) -> str:
        for a, b in (
            ("\\", r"\textbackslash{}"),
            ("_", r"\_"),
            ("%", r"\%"),
            ("&", r"\&"),
            ("#", r"\#"),
            ("μ", r"$\mu$"),
            ("σ", r"$\sigma$"),
            ("γ", r"$\gamma$"),
            ("—", "--"),
            ("×", r"$\times$"),
            ("→", r"$\to$"),
        ):
            s = s.replace(a, b)
        return s

    lines = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{esc(caption)}}}" if caption else "",
        r"\begin{tabular}{" + "l" * len(table.index.names) + "r" * table.shape[1] + "}",
        r"\toprule",
        " & ".join(esc(h) for h in head) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(esc(c) for c in r) + r" \\" for r in body]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(line for line in lines if line) + "\n"
