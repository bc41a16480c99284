"""kstar_summary, classify_pattern and pattern_averages against numpy, scipy and hand work."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

import kstarlab.kstar.summary
from kstarlab import kstar_summary, kstar_values, pattern_averages
from kstarlab.kstar.summary import classify_pattern

COLUMNS = ["class", "n", "mean", "std", "skew", "pattern"]
INTERVALS = ["skew_lo", "skew_hi", "pattern_uncertain"]  # after the paper's (test_bootstrap)


def test_summary_matches_numpy_and_scipy():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(400, 3))
    y = rng.integers(0, 5, size=400)
    k = kstar_values(X, y, dtype="float64")

    summary = kstar_summary(k, y)

    assert list(summary.columns) == [*COLUMNS, *INTERVALS]
    assert list(summary.index) == [0, 1, 2, 3, 4]
    for label, row in summary.iterrows():
        v = k[y == label]
        assert row["class"] == label
        assert row["n"] == v.size
        assert row["mean"] == pytest.approx(np.mean(v), rel=1e-12)
        assert row["std"] == pytest.approx(np.std(v, ddof=0), rel=1e-12)
        assert row["skew"] == pytest.approx(scipy.stats.skew(v, bias=True), rel=1e-10)
        assert row["skew"] != pytest.approx(scipy.stats.skew(v, bias=False), rel=1e-6)
        expected = (
            "Clustered"
            if row["skew"] < -0.5
            else "Fractured"
            if row["skew"] > 0.5
            else "Overlapped"
        )
        assert row["pattern"] == expected


def test_known_patterns_and_hand_statistics():
    # four classes of five samples each; k* values are multiples of 1/5
    values = {
        0: [1.0, 1.0, 1.0, 1.0, 0.2],  # mostly large -> negative skew -> Clustered
        1: [0.2, 0.2, 0.2, 0.2, 1.0],  # mostly small -> positive skew -> Fractured
        2: [0.2, 0.4, 0.6, 0.8, 1.0],  # symmetric -> skew 0 -> Overlapped
        3: [0.2, 0.4, 0.4, 0.6, 0.6],
    }
    y = np.repeat(list(values), 5)
    k = np.concatenate(list(values.values()))
    summary = kstar_summary(k, y)
    # two-point distribution, 4 at a and 1 at b: skew = -(1 - 2q)/sqrt(q(1 - q)), q = 1/5
    assert summary.loc[0, "skew"] == pytest.approx(-1.5, rel=1e-12)
    assert summary.loc[1, "skew"] == pytest.approx(1.5, rel=1e-12)
    assert summary.loc[2, "skew"] == pytest.approx(0.0, abs=1e-12)
    assert summary.loc[0, "mean"] == pytest.approx(0.84)
    assert summary.loc[0, "std"] == pytest.approx(0.32)  # sqrt(0.16 * 0.8**2)
    assert summary.loc[2, "std"] == pytest.approx(math.sqrt(0.08))
    assert list(summary["pattern"]) == ["Clustered", "Fractured", "Overlapped", "Overlapped"]


@pytest.mark.parametrize(
    ("skew", "pattern"),
    [
        (-0.5, "Overlapped"),
        (0.5, "Overlapped"),
        (0.0, "Overlapped"),
        (np.nextafter(-0.5, -1.0), "Clustered"),
        (np.nextafter(0.5, 1.0), "Fractured"),
        (np.nextafter(-0.5, 0.0), "Overlapped"),
        (np.nextafter(0.5, 0.0), "Overlapped"),
        (-7.0, "Clustered"),
        (7.0, "Fractured"),
    ],
)
def test_classify_pattern_thresholds(skew, pattern):
    values = np.array([0.25, 0.5, 0.75, 1.0])  # not constant: the skew decides
    assert classify_pattern(values, skew) == pattern


@pytest.mark.parametrize(
    ("skew", "pattern"),
    [
        (-0.5, "Overlapped"),
        (0.5, "Overlapped"),
        (-0.5000001, "Clustered"),
        (0.5000001, "Fractured"),
    ],
)
def test_summary_uses_exact_thresholds(monkeypatch, skew, pattern):
    """Through kstar_summary: a class whose skew is exactly ±0.5 is Overlapped."""
    monkeypatch.setattr(kstarlab.kstar.summary, "_skew", lambda v: skew)
    k = np.array([0.25, 0.5, 0.75, 1.0, 0.5, 1.0])
    y = np.array([0, 0, 0, 0, 1, 1])
    summary = kstar_summary(k, y)
    assert list(summary["skew"]) == [skew, skew]
    assert list(summary["pattern"]) == [pattern, pattern]


@pytest.mark.parametrize(
    ("values", "pattern"),
    [
        ([1.0, 1.0, 1.0, 1.0], "Clustered"),  # every sample's own class is closest
        ([0.25, 0.25, 0.25, 0.25], "Fractured"),  # every nearest neighbour is foreign
        ([0.5, 0.5, 0.5, 0.5], "Overlapped"),  # any other constant
        ([0.75, 0.75, 0.75, 0.75], "Overlapped"),
        ([1.0], "Clustered"),  # a class of one sample: 1/n_c = 1
    ],
)
def test_constant_classes(values, pattern):
    other = [0.5, 1.0, 0.5]
    k = np.array(values + other)
    y = np.array([0] * len(values) + [1] * len(other))
    summary = kstar_summary(k, y)
    row = summary.loc[0]
    assert math.isnan(row["skew"])
    assert row["std"] == 0.0
    assert row["mean"] == values[0]
    assert row["pattern"] == pattern
    assert classify_pattern(np.array(values), math.nan) == pattern


def test_constant_fractured_class_from_kstar_values():
    """Two interleaved classes on a line: every k* is 1/n_c, so both classes are Fractured."""
    X = np.arange(10, dtype=np.float64)[:, None]
    y = np.arange(10) % 2
    k = kstar_values(X, y, dtype="float64")
    np.testing.assert_array_equal(k, np.full(10, 0.2))
    summary = kstar_summary(k, y)
    assert summary["skew"].isna().all()
    assert list(summary["pattern"]) == ["Fractured", "Fractured"]


def test_accuracy_column_and_class_names():
    k = np.array([1.0, 0.5, 0.5, 1.0, 1 / 3, 2 / 3, 1.0])
    y = np.array([0, 0, 1, 1, 2, 2, 2])
    correct = np.array([True, False, True, True, False, False, True])
    summary = kstar_summary(k, y, class_names=["cat", "dog", "emu"], accuracy=correct)
    assert list(summary.columns) == [*COLUMNS, "accuracy", *INTERVALS]
    assert list(summary["class"]) == ["cat", "dog", "emu"]
    assert list(summary["n"]) == [2, 2, 3]
    np.testing.assert_allclose(summary["accuracy"], [0.5, 1.0, 1 / 3], rtol=1e-12)
    again = kstar_summary(k, y, accuracy=correct.astype(int))
    np.testing.assert_array_equal(again["accuracy"], summary["accuracy"])
    assert list(again["class"]) == [0, 1, 2]


def test_class_names_with_non_contiguous_labels():
    k = np.array([1.0, 1.0, 0.5, 1.0])
    y = np.array([0, 0, 2, 2])
    summary = kstar_summary(k, y, class_names=["a", "b", "c"])
    assert list(summary["class"]) == ["a", "c"]
    assert list(summary.index) == [0, 2]


def test_pattern_averages_layout_by_hand():
    summary = pd.DataFrame(
        {
            "class": ["a", "b", "c", "d", "e"],
            "n": [10, 10, 10, 10, 10],
            "mean": [0.9, 0.3, 0.7, 0.2, 1.0],
            "std": [0.1, 0.1, 0.1, 0.1, 0.0],
            "skew": [-1.0, 2.0, -0.6, 1.0, np.nan],
            "pattern": ["Clustered", "Fractured", "Clustered", "Fractured", "Clustered"],
            "accuracy": [1.0, 0.5, 0.8, 0.25, 0.9],
        }
    )
    table = pattern_averages(summary)
    assert list(table.columns) == ["pattern", "n_classes", "mean", "skew", "accuracy"]
    assert list(table["pattern"]) == ["Fractured", "Overlapped", "Clustered", "All"]
    assert list(table["n_classes"]) == [2, 0, 3, 5]
    expected_mean = [(0.3 + 0.2) / 2, np.nan, (0.9 + 0.7 + 1.0) / 3, 3.1 / 5]
    expected_skew = [1.5, np.nan, (-1.0 - 0.6) / 2, (-1.0 + 2.0 - 0.6 + 1.0) / 4]
    expected_acc = [0.375, np.nan, (1.0 + 0.8 + 0.9) / 3, 3.45 / 5]
    np.testing.assert_allclose(table["mean"], expected_mean, rtol=1e-12)
    np.testing.assert_allclose(table["skew"], expected_skew, rtol=1e-12)
    np.testing.assert_allclose(table["accuracy"], expected_acc, rtol=1e-12)
    row = table.set_index("pattern").loc["Overlapped"]
    assert math.isnan(row["mean"]) and math.isnan(row["skew"]) and math.isnan(row["accuracy"])


def test_pattern_averages_without_accuracy_from_kstar_summary():
    k = np.concatenate([[1.0, 1.0, 1.0, 1.0, 0.2], [0.2, 0.2, 0.2, 0.2, 1.0], [1.0, 1.0]])
    y = np.array([0] * 5 + [1] * 5 + [2] * 2)
    summary = kstar_summary(k, y, resamples=None)
    table = pattern_averages(summary)
    assert list(table.columns) == ["pattern", "n_classes", "mean", "skew"]
    assert list(table["n_classes"]) == [1, 0, 2, 3]
    np.testing.assert_allclose(
        table["mean"], [0.36, np.nan, (0.84 + 1.0) / 2, (0.84 + 0.36 + 1.0) / 3], rtol=1e-12
    )
    # the constant class (skew NaN) is left out of the skew averages
    np.testing.assert_allclose(table["skew"], [1.5, np.nan, -1.5, 0.0], rtol=1e-12, atol=1e-12)


def test_summary_rejects_bad_input():
    with pytest.raises(ValueError, match="different lengths"):
        kstar_summary(np.array([1.0, 0.5]), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match=r"normalised k\* values"):
        kstar_summary(np.array([2.0, 1.0]), np.array([0, 1]))
    with pytest.raises(ValueError, match="accuracy"):
        kstar_summary(np.array([1.0, 1.0]), np.array([0, 1]), accuracy=[True])
    with pytest.raises(ValueError, match="class_names has 1 entries"):
        kstar_summary(np.array([1.0, 1.0]), np.array([0, 1]), class_names=["a"])
    with pytest.raises(ValueError, match="lacks column"):
        pattern_averages(pd.DataFrame({"mean": [1.0]}))


@settings(max_examples=200)
@given(
    st.lists(
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_subnormal=False),
        min_size=1,
        max_size=60,
    )
)
def test_own_skew_has_the_bytes_of_scipy(values):
    from kstarlab.kstar.summary import _skew

    v = np.asarray(values, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy's precision-loss warning
        expected = float(scipy.stats.skew(v, bias=True))
    got = _skew(v)
    assert (np.isnan(got) and np.isnan(expected)) or got == expected


def test_own_skew_on_k_star_like_values():
    from kstarlab.kstar.summary import _skew

    rng = np.random.default_rng(0)
    for n in (2, 3, 17, 54, 1000):
        v = rng.integers(1, n + 1, size=n) / n  # k* values: multiples of 1/n in [1/n, 1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            expected = float(scipy.stats.skew(v, bias=True))
        assert _skew(v) == expected or (np.isnan(_skew(v)) and np.isnan(expected))
    assert np.isnan(_skew(np.full(7, 0.25)))
