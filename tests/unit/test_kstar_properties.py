"""Property-based tests of kstar_values (hypothesis).

Data are small integer-valued float64 matrices, so distances, translations and power-of-two
scalings are exact and every property can be asserted with exact equality.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kstarlab import kstar_values
from oracle import (
    METRIC_CASES,
    case_id,
    class_sizes,
    distance_matrix,
    near_tie_samples,
    nearest_near_ties,
    nearest_other,
    nearest_other_index,
    rounding_tolerance,
    strict_counts,
)

NON_COSINE = [case for case in METRIC_CASES if case[0] != "cosine"]
TRANSLATION_INVARIANT = [
    ("euclidean", None),
    ("sqeuclidean", None),
    ("cityblock", None),
    ("chebyshev", None),
    ("minkowski", 3.0),
]
BLOCK_SIZES = st.one_of(st.none(), st.integers(1, 9))


@st.composite
def labelled_data(draw, *, min_n=2, max_n=28, max_d=4, lo=-6, hi=6, nonzero_rows=False):
    """(X, y): integer-valued float64 X of shape (n, d), labels with at least 2 classes."""
    n = draw(st.integers(min_n, max_n))
    d = draw(st.integers(1, max_d))
    X = draw(arrays(np.int64, (n, d), elements=st.integers(lo, hi))).astype(np.float64)
    if nonzero_rows:
        zero = ~X.any(axis=1)
        X[zero, 0] = 1.0
    n_classes = draw(st.integers(2, min(4, n)))
    y = np.array(draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n)))
    y[:2] = [0, 1]  # at least two classes
    return X, y


@pytest.mark.parametrize("case", METRIC_CASES, ids=case_id)
@given(data=st.data())
def test_equals_oracle_on_integer_data(case, data):
    metric, p = case
    X, y = data.draw(labelled_data(nonzero_rows=metric == "cosine"))
    block = data.draw(BLOCK_SIZES)
    k = kstar_values(X, y, metric=metric, p=p, dtype="float64", block_size=block)
    D = distance_matrix(X, metric, p)
    expected = strict_counts(D, y) / class_sizes(y)
    if metric == "cosine" or p == 1.5:  # not exact arithmetic: ties may be near-ties
        near = near_tie_samples(D, y, **rounding_tolerance(X, D, y, "cosine", "float64"))
        near |= near_tie_samples(D, y, rtol=1e-9, exact_ties=True)
    else:
        near = np.zeros(y.size, dtype=bool)
    np.testing.assert_array_equal(k[~near], expected[~near])


@pytest.mark.parametrize("case", METRIC_CASES, ids=case_id)
@given(data=st.data())
def test_permutation_invariance(case, data):
    metric, p = case
    X, y = data.draw(labelled_data(nonzero_rows=metric == "cosine"))
    perm = np.array(data.draw(st.permutations(range(y.size))))
    block = data.draw(BLOCK_SIZES)
    k = kstar_values(X, y, metric=metric, p=p, dtype="float64", block_size=block)
    k_perm = kstar_values(X[perm], y[perm], metric=metric, p=p, dtype="float64", block_size=block)
    if metric == "cosine" or p == 1.5:
        D = distance_matrix(X, metric, p)
        keep = ~near_tie_samples(D, y, rtol=1e-9, atol=1e-15, exact_ties=True)
    else:
        keep = np.ones(y.size, dtype=bool)
    np.testing.assert_array_equal(k_perm[keep[perm]], k[perm][keep[perm]])


@pytest.mark.parametrize("case", TRANSLATION_INVARIANT, ids=case_id)
@given(data=st.data())
def test_translation_invariance(case, data):
    metric, p = case
    X, y = data.draw(labelled_data())
    shift = data.draw(arrays(np.int64, (X.shape[1],), elements=st.integers(-1000, 1000)))
    k = kstar_values(X, y, metric=metric, p=p, dtype="float64")
    k_shift = kstar_values(X + shift, y, metric=metric, p=p, dtype="float64")
    np.testing.assert_array_equal(k_shift, k)


@given(data=st.data())
def test_cosine_invariance_to_positive_scaling(data):
    """Each row may get its own positive scale; powers of two keep the arithmetic exact."""
    X, y = data.draw(labelled_data(nonzero_rows=True))
    exps = data.draw(arrays(np.int64, (y.size,), elements=st.integers(-20, 20)))
    scaled = X * np.exp2(exps.astype(np.float64))[:, None]
    k = kstar_values(X, y, metric="cosine", dtype="float64")
    np.testing.assert_array_equal(kstar_values(scaled, y, metric="cosine", dtype="float64"), k)


@given(data=st.data(), scale=st.floats(1e-3, 1e3))
def test_cosine_invariance_to_arbitrary_positive_scaling(data, scale):
    """Any positive scale: only near-tie samples may change."""
    X, y = data.draw(labelled_data(nonzero_rows=True))
    k = kstar_values(X, y, metric="cosine", dtype="float64")
    k_scaled = kstar_values(X * scale, y, metric="cosine", dtype="float64")
    D = distance_matrix(X, "cosine")
    keep = ~near_tie_samples(D, y, rtol=1e-9, atol=1e-15, exact_ties=True)
    np.testing.assert_array_equal(k_scaled[keep], k[keep])


@pytest.mark.parametrize("case", METRIC_CASES, ids=case_id)
@given(data=st.data())
def test_values_lie_in_unit_range(case, data):
    metric, p = case
    X, y = data.draw(labelled_data(nonzero_rows=metric == "cosine"))
    X = X + data.draw(arrays(np.float64, X.shape, elements=st.floats(-0.5, 0.5)))
    X[~X.any(axis=1), 0] = 1.0
    dtype = data.draw(st.sampled_from(["float32", "float64"]))
    n_c = class_sizes(y)
    k = kstar_values(X, y, metric=metric, p=p, dtype=dtype)
    counts = kstar_values(X, y, metric=metric, p=p, dtype=dtype, normalize=False)
    assert k.shape == y.shape
    assert np.all(k >= 1 / n_c)
    assert np.all(k <= 1)
    assert counts.dtype.kind == "i"
    assert np.all((counts >= 1) & (counts <= n_c))
    np.testing.assert_array_equal(k, counts / n_c)


@pytest.mark.parametrize("case", METRIC_CASES, ids=case_id)
@given(data=st.data())
def test_relabelling_classes_changes_nothing(case, data):
    metric, p = case
    X, y = data.draw(labelled_data(nonzero_rows=metric == "cosine"))
    mapping = np.array(data.draw(st.permutations([5, -3, 17, 0])))
    k = kstar_values(X, y, metric=metric, p=p, dtype="float64")
    np.testing.assert_array_equal(
        kstar_values(X, mapping[y], metric=metric, p=p, dtype="float64"), k
    )


@pytest.mark.parametrize("case", METRIC_CASES, ids=case_id)
@given(data=st.data())
def test_perfectly_separated_classes_give_all_ones(case, data):
    """Class c lives near 100 * e_c: every same-class distance is below every other-class one."""
    metric, p = case
    n_classes = data.draw(st.integers(2, 4))
    d = data.draw(st.integers(n_classes, 6))
    n = data.draw(st.integers(n_classes, 30))
    y = np.array(data.draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n)))
    y[:n_classes] = np.arange(n_classes)
    noise = data.draw(arrays(np.float64, (n, d), elements=st.floats(0, 1)))
    X = 100.0 * np.eye(d)[y] + noise
    dtype = data.draw(st.sampled_from(["float32", "float64"]))
    block = data.draw(BLOCK_SIZES)
    k = kstar_values(X, y, metric=metric, p=p, dtype=dtype, block_size=block)
    np.testing.assert_array_equal(k, np.ones(n))
    counts = kstar_values(X, y, metric=metric, p=p, dtype=dtype, normalize=False)
    np.testing.assert_array_equal(counts, class_sizes(y))


@pytest.mark.parametrize("case", NON_COSINE, ids=case_id)
@given(data=st.data())
def test_nearest_neighbour_of_another_class_gives_the_minimum(case, data):
    """Interleaved classes on a line (0, 1, 0, 1, ...): every neighbour is of the other class."""
    metric, p = case
    n = data.draw(st.integers(4, 30))
    steps = data.draw(arrays(np.int64, (n,), elements=st.integers(1, 5)))
    X = np.cumsum(steps).astype(np.float64)[:, None]
    y = np.arange(n) % 2
    k = kstar_values(X, y, metric=metric, p=p, dtype="float64", normalize=False)
    np.testing.assert_array_equal(k, np.ones(n, dtype=np.int64))


@pytest.mark.parametrize("case", METRIC_CASES, ids=case_id)
@given(data=st.data())
def test_nearest_equals_oracle_on_integer_data(case, data):
    """The nearest other-class sample (lowest index on ties) is the oracle's, under any
    tiling, and lies at d_o; exact but for cosine and p=1.5 (near-ties excluded there)."""
    metric, p = case
    X, y = data.draw(labelled_data(nonzero_rows=metric == "cosine"))
    block = data.draw(BLOCK_SIZES)
    k, nearest = kstar_values(
        X, y, metric=metric, p=p, dtype="float64", block_size=block, return_nearest=True
    )
    D = distance_matrix(X, metric, p)
    # the same k* as without the nearest index (another pass 1: `test_class_sorted_...`)
    same = ~rounding_ties(X, D, y, metric, "float64")
    np.testing.assert_array_equal(
        k[same], kstar_values(X, y, metric=metric, p=p, dtype="float64", block_size=block)[same]
    )
    assert (y[nearest] != y).all()
    if metric == "cosine" or p == 1.5:  # not exact arithmetic: ties may be near-ties
        keep = ~nearest_near_ties(D, y, rtol=1e-9, atol=1e-15)
    else:
        keep = np.ones(y.size, dtype=bool)
        np.testing.assert_array_equal(D[np.arange(y.size), nearest], nearest_other(D, y))
    np.testing.assert_array_equal(nearest[keep], nearest_other_index(D, y)[keep])


@pytest.mark.parametrize("case", METRIC_CASES, ids=case_id)
@given(data=st.data())
def test_class_sorted_pass_equals_the_label_masked_pass(case, data):
    """In memory, both passes run on a class-sorted copy (pass 1's same-class rectangles
    masked by slices, pass 2's classes sliced); with ``return_nearest`` they run in the
    original order with a label mask and gathered classes: the same k*, for every tile
    size (rectangles and classes cut by tile edges included)."""
    metric, p = case
    X, y = data.draw(labelled_data(max_n=40, nonzero_rows=metric == "cosine"))
    block = data.draw(BLOCK_SIZES)
    D = distance_matrix(X, metric, p)
    for dtype in ("float64", "float32"):
        sorted_pass = kstar_values(X, y, metric=metric, p=p, dtype=dtype, block_size=block)
        masked, _ = kstar_values(
            X, y, metric=metric, p=p, dtype=dtype, block_size=block, return_nearest=True
        )
        same = ~rounding_ties(X, D, y, metric, dtype)
        np.testing.assert_array_equal(sorted_pass[same], masked[same])


def rounding_ties(X, D, y, metric, dtype):
    """Samples whose k* rounding may decide: for cosine (1 - cos similarity is never
    exact, and a tile's matrix product may round an entry differently at another place in
    the tile, as the class-sorted pass puts it) the near-ties and exact ties; none for the
    other metrics, exact on these integer data."""
    if metric != "cosine":
        return np.zeros(y.size, dtype=bool)
    near = near_tie_samples(D, y, **rounding_tolerance(X, D, y, metric, dtype))
    return near | near_tie_samples(D, y, rtol=1e-9, exact_ties=True)
