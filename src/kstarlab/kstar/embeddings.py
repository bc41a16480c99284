"""Embeddings from other domains and the k* paper's Table XXI layout.

Table XXI applies k* to models of other domains (intent classification on MASSIVE, keyword
spotting on Speech Commands): one row per (task, architecture) with, for Fractured (A),
Overlapped (B) and Clustered (C), the average μ, γ and accuracy of the classes in that
pattern and their number N, then the same over every class ("Average on Entire Dataset",
whose N is the number of classes). The averages are `kstarlab.kstar.summary.pattern_averages`,
the same as the pattern tables of the image studies (`kstarlab.kstar.tables.pattern_row`).

An embedding file is one latent space you provide, one per (domain, model): an ``.npz``
archive or an ``.h5`` file with ``X`` (n_samples × n_features), ``y`` (integer labels),
and optionally ``class_names`` and ``predictions`` (integer, for the accuracy columns).
`check_embedding` validates one and names the file and the key at fault.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kstarlab.errors import InputError
from kstarlab.names import EMBEDDING_SUFFIXES

#: Embedding files: ``.npz``, or HDF5 (the suffixes of `kstarlab.io`).
#: The row labels of Table XXI.
TABLE_INDEX = ("Task", "Architecture")
#: The Task cell of a demonstration row starts with this.
DEMONSTRATION = "Demonstration"
#: Per-class columns of the tidy summary of all embeddings (``summary.csv``).
SUMMARY_KEYS = ("source", "task", "architecture")


@dataclass(frozen=True)
class EmbeddingInfo:
    """What `check_embedding` found in a file."""

    n_samples: int
    n_features: int
    n_classes: int
    class_names: list[str] | None
    has_predictions: bool


def check_embedding(path: str | os.PathLike[str]) -> EmbeddingInfo:
    """Validate an embedding file; a fault is one `InputError` naming the file and key.

    ``X`` is checked by shape and dtype (an HDF5 ``X`` is not read); ``y``, and when
    present ``predictions`` and ``class_names``, are read and checked against it.
    """
    from kstarlab.io import open_latents

    where = str(path)
    if not where.lower().endswith(EMBEDDING_SUFFIXES):
        raise InputError(
            f"{where}: an embedding file is .npz or .h5 (with X, y, optional class_names "
            "and predictions)"
        )
    with open_latents(path) as data:
        X, y, names, predictions = data.X, np.asarray(data.y), data.class_names, data.predictions
        if len(X.shape) != 2 or 0 in X.shape:
            raise InputError(f"{where}: X must be a non-empty 2-D array, got shape {X.shape}")
        if np.dtype(X.dtype).kind not in "iuf":
            raise InputError(f"{where}: X must be numeric, got dtype {X.dtype}")
        n, d = (int(s) for s in X.shape)
    _labels(y, "y", where, n)
    classes = np.unique(y)
    if classes.size < 2:
        raise InputError(f"{where}: y holds one class; k* needs at least two")
    if predictions is not None:
        _labels(np.asarray(predictions), "predictions", where, n)
    if names is not None and len(names) <= int(classes[-1]):
        raise InputError(
            f"{where}: class_names has {len(names)} entries, but y holds label {classes[-1]}"
        )
    return EmbeddingInfo(n, d, int(classes.size), names, predictions is not None)


def _labels(values: np.ndarray, key: str, where: str, n: int) -> None:
    if values.ndim != 1:
        raise InputError(f"{where}: {key} must be 1-D, got shape {values.shape}")
    if values.shape[0] != n:
        raise InputError(f"{where}: {key} has {values.shape[0]} entries, X has {n} rows")
    if values.dtype.kind not in "iu":
        raise InputError(f"{where}: {key} must hold integer labels, got dtype {values.dtype}")
    if values.size and values.min() < 0:
        raise InputError(f"{where}: {key} holds the negative label {values.min()}")


def embedding_summary(
    path: str | os.PathLike[str],
    *,
    metric: str = "euclidean",
    p: float | None = None,
    dtype: str = "float32",
    device: str = "cpu",
) -> pd.DataFrame:
    """The per-class k* summary (`kstar_summary`) of one embedding file, in this process."""
    from kstarlab.io import open_latents
    from kstarlab.kstar.engine import kstar_values
    from kstarlab.kstar.summary import kstar_summary

    check_embedding(path)
    with open_latents(path) as data:
        try:
            k = kstar_values(data.X, data.y, metric=metric, p=p, dtype=dtype, device=device)
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from None
        y = np.asarray(data.y)
        correct = None if data.predictions is None else np.asarray(data.predictions) == y
        return kstar_summary(k, y, class_names=data.class_names, accuracy=correct)


def task_label(domain: str, demo: bool) -> str:
    """A row's Task cell: demonstration rows say so, beside the paper's domains."""
    return f"{DEMONSTRATION}: {domain}" if demo else domain


def table_xxi(rows: Sequence[tuple[str, str, pd.DataFrame]]) -> pd.DataFrame:
    """Table XXI from (task, architecture, per-class summary) triples, in their order.

    Columns: (pattern, μ | γ | Acc | N) for A, B, C and "All classes"; accuracy in %
    (NaN, shown "—", when a summary has no accuracy).
    """
    from kstarlab.kstar.tables import pattern_row

    if not rows:
        raise InputError("no embeddings to tabulate")
    table = {}
    for task, architecture, summary in rows:
        if (task, architecture) in table:
            raise InputError(f"two embeddings are both ({task!r}, {architecture!r})")
        if "accuracy" not in summary.columns:
            summary = summary.assign(accuracy=np.nan)
        table[(task, architecture)] = pattern_row(summary, count_all=True)
    frame = pd.DataFrame.from_dict(table, orient="index")
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=list(TABLE_INDEX))
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame


def read_classes(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A per-class k* table as the k* job writes it (``.classes.csv``)."""
    frame = pd.read_csv(path, dtype={"class": str})
    if "accuracy" not in frame:
        frame["accuracy"] = np.nan
    return frame


def write_embedding_tables(
    classes: Sequence[str | os.PathLike[str]],
    sources: Sequence[Mapping[str, Any]],
    outputs: Mapping[str, str | os.PathLike[str]],
    *,
    tables: str = "XXI",
    caption: str = "",
) -> pd.DataFrame:
    """Table XXI of the ``sources`` (``name, domain, model, demo`` each) from their per-class
    k* tables ``classes`` (same order), as ``csv``, ``markdown``, ``latex`` and ``html``,
    with the tidy per-class ``summary`` of them all. Returns the table."""
    from kstarlab.io import atomic_write, write_csv
    from kstarlab.kstar.tables import to_latex, to_markdown

    if len(classes) != len(sources):
        raise InputError(f"{len(classes)} k* tables for {len(sources)} embeddings")
    rows, tidy = [], []
    for path, source in zip(classes, sources, strict=True):
        summary = read_classes(path)
        task = task_label(source["domain"], bool(source.get("demo")))
        rows.append((task, source["model"], summary))
        keys = {"source": source["name"], "task": task, "architecture": source["model"]}
        tidy.append(summary.assign(**keys)[[*SUMMARY_KEYS, *summary.columns]])
    table = table_xxi(rows)
    write_csv(table, outputs["csv"])
    write_csv(pd.concat(tidy, ignore_index=True), outputs["summary"], index=False)
    title = f"Table {tables}" if tables else "Other domains"
    note = ""
    if any(source.get("demo") for source in sources):
        note = (
            f"Rows whose task starts with {DEMONSTRATION!r} embed a scikit-learn table by the "
            "logit layer of a small MLP trained here: they show the method, not the paper's "
            "domains.\n\n"
        )
    with atomic_write(outputs["markdown"]) as fh:
        fh.write(f"## {title}\n\n{caption}\n\n{note}" + to_markdown(table))
    with atomic_write(outputs["latex"]) as fh:
        fh.write(to_latex(table, caption=f"{caption} {note}".strip()))
    with atomic_write(outputs["html"]) as fh:
        fh.write(_html(table, title, f"{caption} {note}".strip()))
    return table


def _html(table: pd.DataFrame, title: str, intro: str) -> str:
    style = (
        "<style>body{font-family:sans-serif;font-size:13px} table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}</style>"
    )
    body = table.to_html(float_format=lambda v: f"{v:.2f}", na_rep="—")
    return (
        f"<html><head><meta charset='utf-8'><title>{title}</title>{style}</head><body>"
        f"<h2>{title}</h2><p>{intro}</p>\n{body}\n</body></html>\n"
    )


def distributions_figure(
    samples: Sequence[str | os.PathLike[str]],
    classes: Sequence[str | os.PathLike[str]],
    sources: Sequence[Mapping[str, Any]],
    out: str | os.PathLike[str],
) -> None:
    """k* per class (violin and boxen, γ and pattern beside each) of every embedding, one
    row each, from the k* job's per-sample and per-class tables ``samples`` and ``classes``
    (same order as ``sources``)."""
    from kstarlab.figures import save_figure
    from kstarlab.kstar.plots import distribution_grid

    panels = []
    for path, classes_path, source in zip(samples, classes, sources, strict=True):
        title = f"{task_label(source['domain'], bool(source.get('demo')))} / {source['model']}"
        per_class = read_classes(classes_path)
        per_sample = pd.read_csv(path)
        # the per-class table's rows are the sorted labels: panel rows by rank, not by label
        per_sample["label"] = np.unique(per_sample["label"], return_inverse=True)[1]
        panels.append((title, per_sample, per_class))
    save_figure(distribution_grid(panels), out, formats=(".png",))
