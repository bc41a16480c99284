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

Beside each γ, `kstar_summary` reports a seeded percentile-bootstrap interval
(``skew_lo``, ``skew_hi``; 95%, 1,000 resamples of the class's k* values by default) and
flags the pattern ``pattern_uncertain`` when the interval crosses a threshold that decides
it. With the digits' ~54 samples per class the standard error of a skew is about 0.33, as
large as the distance between the ±0.5 thresholds and many classes' γ; the paper reports
no interval. These columns come after the paper's, which are unchanged.
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
#: The bootstrap interval of γ: resamples (issue 12 item 6: 1,000 is enough), level, and
#: the columns it adds after the paper's (``pattern_uncertain`` is a bool).
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_LEVEL = 0.95
INTERVAL_COLUMNS = ("skew_lo", "skew_hi", "pattern_uncertain")
_BLOCK = 1 << 21  # resampled values per block of the bootstrap (16 MiB of float64)


def skew_pattern(skew: float) -> str:
    """The pattern a defined skew decides: below -0.5, between, above +0.5 (ends included)."""
    if skew < -SKEW_THRESHOLD:
        return CLUSTERED
    if skew > SKEW_THRESHOLD:
        return FRACTURED
    return OVERLAPPED


def classify_pattern(values: np.ndarray, skew: float) -> str:
    """The pattern of one class from its normalised k* values and their skew."""
    if np.isnan(skew):
        n = values.size
        if np.all(values == 1.0):
            return CLUSTERED
        if n > 1 and np.allclose(values, 1.0 / n, rtol=0, atol=1e-12):
            return FRACTURED
        return OVERLAPPED
    return skew_pattern(skew)


def skew_interval(
    values: Any,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int | Sequence[int] = 0,
    level: float = BOOTSTRAP_LEVEL,
) -> tuple[float, float]:
    """Percentile-bootstrap interval of the skew (``bias=True``) of ``values``.

    ``resamples`` samples of ``values.size`` values drawn with replacement, as the rows of
    ``np.random.default_rng(seed).integers(0, n, size=(resamples, n))`` (drawn in blocks of
    rows, which gives the same indices); one vectorised skew per row; the ``(1 - level) / 2``
    and ``(1 + level) / 2`` quantiles (numpy's linear method) of the defined skews.
    A resample whose values are all equal has no skew and is left out; when no resample
    has one (a constant class), the interval is (NaN, NaN).
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise InputError(f"values must be a non-empty 1-D array, got shape {v.shape}")
    if isinstance(resamples, bool) or not isinstance(resamples, (int, np.integer)):
        raise InputError(f"resamples must be an integer, got {resamples!r}")
    if resamples < 1:
        raise InputError(f"resamples must be at least 1, got {resamples}")
    if not 0 < level < 1:
        raise InputError(f"level must lie in (0, 1), got {level}")
    rng = np.random.default_rng(seed)
    n = v.size
    rows = max(1, _BLOCK // n)
    skews = np.concatenate(
        [
            _skew_rows(v[rng.integers(0, n, size=(min(rows, resamples - start), n))])
            for start in range(0, int(resamples), rows)
        ]
    )
    skews = skews[~np.isnan(skews)]
    if skews.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.percentile(skews, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


def is_uncertain(skew: float, lo: float, hi: float) -> bool:
    """Whether the interval ``[lo, hi]`` of γ crosses a threshold that decides the pattern.

    True when ``lo``, ``skew`` and ``hi`` do not all decide the same pattern: for
    Clustered, the interval reaches -0.5; for Fractured, it reaches +0.5; for Overlapped,
    it passes -0.5 or +0.5 (γ itself counts, should it lie outside a percentile interval).
    A constant class (γ NaN, classified by its value; every resample is the same constant)
    is certain; a defined γ with no interval is uncertain.
    """
    if np.isnan(skew):
        return False
    if np.isnan(lo) or np.isnan(hi):
        return True
    return len({skew_pattern(lo), skew_pattern(skew), skew_pattern(hi)}) > 1


def kstar_summary(
    k: Any,
    y: Any,
    *,
    class_names: Sequence[str] | None = None,
    accuracy: Any = None,
    resamples: int | None = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per class: ``class, n, mean, std, skew, pattern`` [, ``accuracy``]
    [, ``skew_lo, skew_hi, pattern_uncertain``].

    ``k`` are normalised k* values (``kstar_values(..., normalize=True)``), ``y`` the labels.
    ``class_names[label]`` names class ``label`` when given. ``accuracy`` is per-sample
    correctness (bool or 0/1, e.g. ``predictions == y``); the column is the class mean.
    ``skew_lo``/``skew_hi`` are the 95% `skew_interval` of the class's values with
    ``resamples`` resamples, drawn from ``default_rng([seed, i])`` for the i-th class in
    label order; ``pattern_uncertain`` is `is_uncertain`. ``resamples=None`` leaves them out.
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
    if resamples is not None and (
        isinstance(resamples, bool) or not isinstance(resamples, (int, np.integer)) or resamples < 1
    ):
        raise InputError(f"resamples must be a positive integer or None, got {resamples!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    classes = np.unique(labels)
    if class_names is not None and len(class_names) <= int(np.max(classes)):
        raise InputError(
            f"class_names has {len(class_names)} entries, but y holds label {np.max(classes)}"
        )
    rows = []
    for position, label in enumerate(classes):
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
        if resamples is not None:
            lo, hi = skew_interval(v, resamples=resamples, seed=[int(seed), position])
            row["skew_lo"], row["skew_hi"] = lo, hi
            row["pattern_uncertain"] = is_uncertain(skew, lo, hi)
        rows.append(row)
    frame = pd.DataFrame(rows, index=pd.Index(classes, name="label"))
    return frame


def pattern_averages(summary: pd.DataFrame) -> pd.DataFrame:
    """The paper's "Average of classes with Pattern A/B/C" layout, from `kstar_summary`.

    Rows: Fractured (A), Overlapped (B), Clustered (C), then All classes. Columns:
    ``pattern, n_classes, mean`` (average μ), ``skew`` (average γ over classes with a
    defined skew), ``accuracy`` (average class accuracy, when the summary has it) and, last,
    ``n_uncertain`` (classes whose pattern is uncertain, when it has ``pattern_uncertain``).
    A pattern with no class has NaN averages, shown as "—" in the paper.
    """
    missing = {"mean", "skew", "pattern"} - set(summary.columns)
    if missing:
        raise InputError(f"summary lacks column(s) {sorted(missing)}; pass kstar_summary()")
    has_acc = "accuracy" in summary.columns
    has_unc = "pattern_uncertain" in summary.columns
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
        if has_unc:
            row["n_uncertain"] = int(as_bool(group["pattern_uncertain"]).sum())
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


def _skew_rows(a: np.ndarray) -> np.ndarray:
    """`_skew` of every row of a 2-D float64 array at once (NaN where a row is constant)."""
    mean = np.mean(a, axis=1, keepdims=True)
    d = a - mean
    s = d * d
    m2 = np.mean(s, axis=1)
    s *= d
    m3 = np.mean(s, axis=1)
    with np.errstate(all="ignore"):
        out = m3 / m2**1.5
        out[m2 <= (np.finfo(np.float64).eps * mean[:, 0]) ** 2] = np.nan
    return out


def as_bool(column: pd.Series) -> pd.Series:
    """A ``pattern_uncertain`` column as bools, also when read back from CSV as text."""
    if column.dtype == bool:
        return column
    return column.astype(str).str.lower().isin(["true", "1", "1.0"])
