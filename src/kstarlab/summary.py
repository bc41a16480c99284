"""Per-class k* statistics, the Fractured / Overlapped / Clustered patterns, and averages.

Statistics follow the authors' notebook: mean, standard deviation with ddof=0 and
``scipy.stats.skew`` with its default ``bias=True``. A class's pattern comes from the skew:

- skew < -0.5 -> Clustered (Pattern C): most samples have a large k*;
- skew > +0.5 -> Fractured (Pattern A): most samples have a small k*;
- otherwise   -> Overlapped (Pattern B).

A class whose k* values are all equal has an undefined skew, reported as NaN, and is
classified by its value: all 1 -> Clustered (every sample's nearest other-class sample is
farther than all of its own class); all 1/n_c with n_c > 1 -> Fractured (every sample's
nearest neighbour is from another class); any other constant -> Overlapped. The authors'
notebook labels a class constant at 1/n_c "Overlapped"; kstarlab calls it Fractured,
which is what the distribution means.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from kstarlab.errors import InputError

CLUSTERED, OVERLAPPED, FRACTURED = "Clustered", "Overlapped", "Fractured"
PATTERNS = (FRACTURED, OVERLAPPED, CLUSTERED)  # the paper's order: Pattern A, B, C
PATTERN_LETTER = {FRACTURED: "A", OVERLAPPED: "B", CLUSTERED: "C"}
SKEW_THRESHOLD = 0.5


def classify_pattern(values: np.ndarray, skew: float) -> str:
    """The pattern of one class from its normalised k* values and their skew."""
    if np.isnan(skew):
        n = values.size
        if np.all(values == 1.0):
            return CLUSTERED
        if n > 1 and np.allclose(values, 1.0 / n, rtol=0, atol=1e-12):
            return FRACTURED
        return OVERLAPPED
    if skew < -SKEW_THRESHOLD:
        return CLUSTERED
    if skew > SKEW_THRESHOLD:
        return FRACTURED
    return OVERLAPPED


def kstar_summary(
    k: Any,
    y: Any,
    *,
    class_names: Sequence[str] | None = None,
    accuracy: Any = None,
) -> pd.DataFrame:
    """One row per class: ``class, n, mean, std, skew, pattern`` [, ``accuracy``].

    ``k`` are normalised k* values (``kstar_values(..., normalize=True)``), ``y`` the labels.
    ``class_names[label]`` names class ``label`` when given. ``accuracy`` is per-sample
    correctness (bool or 0/1, e.g. ``predictions == y``); the column is the class mean.
    """
    values = np.asarray(k, dtype=np.float64)
    labels = np.asarray(y)
    if values.ndim != 1 or labels.ndim != 1:
        raise InputError(f"k and y must be 1-D, got shapes {values.shape} and {labels.shape}")
    if values.shape != labels.shape:
        raise InputError(f"k and y have different lengths: {values.size} and {labels.size}")
    if values.size == 0:
        raise InputError("k is empty")
    bad = np.flatnonzero(~np.isfinite(values) | (values <= 0) | (values > 1))
    if bad.size:
        raise InputError(
            f"k must hold normalised k* values in (0, 1]; k[{bad[0]}] = {float(values[bad[0]])} "
            "(use kstar_values(..., normalize=True))"
        )
    correct = None
    if accuracy is not None:
        correct = np.asarray(accuracy, dtype=np.float64)
        if correct.shape != values.shape:
            raise InputError(
                f"accuracy must hold one 0/1 value per sample: shape {correct.shape}, "
                f"expected {values.shape}"
            )
    classes = np.unique(labels)
    if class_names is not None and len(class_names) <= int(np.max(classes)):
        raise InputError(
            f"class_names has {len(class_names)} entries, but y holds label {np.max(classes)}"
        )
    rows = []
    for label in classes:
        members = labels == label
        v = values[members]
        constant = bool(np.all(v == v[0]))
        skew = np.nan if constant else _skew(v)
        row: dict[str, Any] = {
            "class": class_names[int(label)] if class_names is not None else label,
            "n": int(v.size),
            "mean": float(v.mean()),
            "std": float(v.std(ddof=0)),
            "skew": skew,
            "pattern": classify_pattern(v, skew),
        }
        if correct is not None:
            row["accuracy"] = float(correct[members].mean())
        rows.append(row)
    frame = pd.DataFrame(rows, index=pd.Index(classes, name="label"))
    return frame


def pattern_averages(summary: pd.DataFrame) -> pd.DataFrame:
    """The paper's "Average of classes with Pattern A/B/C" layout, from `kstar_summary`.

    Rows: Fractured (A), Overlapped (B), Clustered (C), then All classes. Columns:
    ``pattern, n_classes, mean`` (average μ), ``skew`` (average γ over classes with a
    defined skew) and ``accuracy`` (average class accuracy, when the summary has it).
    A pattern with no class has NaN averages, shown as "—" in the paper.
    """
    missing = {"mean", "skew", "pattern"} - set(summary.columns)
    if missing:
        raise InputError(f"summary lacks column(s) {sorted(missing)}; pass kstar_summary()")
    has_acc = "accuracy" in summary.columns
    rows = []
    groups = [(p, summary[summary["pattern"] == p]) for p in PATTERNS]
    groups.append(("All", summary))
    for name, group in groups:
        row: dict[str, Any] = {
            "pattern": name,
            "n_classes": len(group),
            "mean": float(group["mean"].mean()) if len(group) else np.nan,
            "skew": float(group["skew"].mean()) if group["skew"].notna().any() else np.nan,
        }
        if has_acc:
            row["accuracy"] = float(group["accuracy"].mean()) if len(group) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _skew(values: np.ndarray) -> float:
    """``scipy.stats.skew(values, bias=True)`` of a 1-D array, computed as scipy computes it.

    The same numpy operations in the same order (m2 = mean(d**2), m3 = mean(d**2 * d)
    with d = values - mean, NaN when m2 <= (eps * mean)**2), so the bytes equal scipy's
    (tested); importing scipy.stats would cost every k* job about a second.
    """
    a = np.asarray(values, dtype=np.float64)
    mean = np.mean(a, keepdims=True)
    d = a - mean
    m2 = np.mean(d**2)
    s = d**2
    s *= d
    m3 = np.mean(s)
    with np.errstate(all="ignore"):
        eps = np.finfo(m2.dtype).eps
        if m2 <= (eps * mean[0]) ** 2:
            return float("nan")
        return float(m3 / m2**1.5)
