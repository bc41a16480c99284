"""kstar_values against the independent brute-force oracle (tests/oracle.py)."""

from __future__ import annotations

import functools

import h5py
import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits, load_iris

from kstarlab import kstar_values
from oracle import (
    EXCLUSION_LOG,
    METRIC_CASES,
    case_id,
    class_sizes,
    distance_matrix,
    near_tie_samples,
    nearest_near_ties,
    nearest_other,
    nearest_other_index,
    notebook_kstar,
    rounding_tolerance,
    strict_counts,
)

# Metrics whose float64 evaluation is exact on integer-valued data (sums of integers, of
# squares, of cubes, a maximum): an exact tie in the oracle is a real tie, and the engine
# must resolve it by the strict rule with no exclusion at all.
EXACT_ON_INTEGERS = {
    ("euclidean", None),
    ("sqeuclidean", None),
    ("cityblock", None),
    ("chebyshev", None),
    ("minkowski", 3.0),
}
# Metrics whose float32 evaluation is still exact on small integers (every partial sum of
# the digits' pixels, squares and dot products stays below 2**24).
EXACT_IN_FLOAT32 = {
    ("euclidean", None),
    ("sqeuclidean", None),
    ("cityblock", None),
    ("chebyshev", None),
}


@functools.cache
def dataset(name: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """(X, y, integer_valued) of a named test data set."""
    if name == "random":
        rng = np.random.default_rng(20240601)
        X = rng.normal(size=(240, 6))
        y = rng.integers(0, 4, size=240)
        return X, y, False
    if name == "iris":
        X, y = load_iris(return_X_y=True)
        return X, y, False
    if name == "iris_x10":  # iris in millimetres: integers, with many exact ties
        X, y = load_iris(return_X_y=True)
        return np.round(X * 10), y, True
    if name == "digits":  # integer pixels 0..16: L1 and L-inf distances tie massively
        X, y = load_digits(return_X_y=True)
        return X, y, True
    if name == "lattice":  # few integer points, shared by classes: ties in every metric
        rng = np.random.default_rng(5)
        X = rng.integers(-3, 4, size=(300, 3)).astype(np.float64)
        X[~X.any(axis=1), 0] = 1.0  # no zero row (cosine)
        y = rng.integers(0, 4, size=300)
        return X, y, True
    raise KeyError(name)


@functools.cache
def oracle_matrix(name: str, metric: str, p: float | None) -> np.ndarray:
    X, _, _ = dataset(name)
    return distance_matrix(X, metric, p)


DATASETS = ["random", "iris", "iris_x10", "digits"]


@pytest.mark.parametrize("case", METRIC_CASES, ids=case_id)
@pytest.mark.parametrize("name", DATASETS)
def test_float64_equals_oracle(name, case):
    metric, p = case
    X, y, integer = dataset(name)
    D = oracle_matrix(name, metric, p)
    expected = strict_counts(D, y) / class_sizes(y)

    k = kstar_values(X, y, metric=metric, p=p, dtype="float64")

    assert k.shape == (y.size,)
    assert k.dtype == np.float64
    near = near_tie_samples(D, y, **rounding_tolerance(X, D, y, metric, "float64"))
    n_excluded = int(near.sum())
    message = (
        f"{name} {case_id(case)} float64: {n_excluded} near-tie samples excluded of "
        f"{y.size} ({int((k != expected).sum())} of them differ)"
    )
    print(message)
    EXCLUSION_LOG.append((message, n_excluded))
    if integer and case in EXACT_ON_INTEGERS:
        assert n_excluded == 0
    assert n_excluded <= 2 * y.size // 3, "too few samples left for a meaningful comparison"
    mismatch = np.flatnonzero((k != expected) & ~near)
    assert mismatch.size == 0, (
        f"{mismatch.size} samples differ from the oracle, e.g. sample {mismatch[:5]}: "
        f"{k[mismatch[:5]]} vs {expected[mismatch[:5]]}"
    )


@pytest.mark.parametrize("case", METRIC_CASES, ids=case_id)
@pytest.mark.parametrize("name", DATASETS)
def test_float32_differs_only_at_near_ties(name, case):
    metric, p = case
    X, y, integer = dataset(name)
    D = oracle_matrix(name, metric, p)
    expected = strict_counts(D, y) / class_sizes(y)

    k = kstar_values(X, y, metric=metric, p=p, dtype="float32")

    assert k.dtype == np.float64
    near = near_tie_samples(D, y, **rounding_tolerance(X, D, y, metric, "float32"))
    mismatch = k != expected
    message = (
        f"{name} {case_id(case)} float32: {int(mismatch.sum())} differ from the oracle, "
        f"{int(near.sum())} near-tie samples of {y.size} allowed to"
    )
    print(message)
    EXCLUSION_LOG.append((message, int(mismatch.sum())))
    if integer and case in EXACT_IN_FLOAT32:
        np.testing.assert_array_equal(k, expected)
    bad = np.flatnonzero(mismatch & ~near)
    assert bad.size == 0, f"samples {bad[:10]} differ from the oracle without a near-tie"


def test_digits_exercise_the_strict_tie_rule():
    """The real-data comparison is meaningful: on digits in L1 many samples have a
    same-class sample at exactly d_o, and counting those (a <= rule) would change k*."""
    X, y, _ = dataset("digits")
    D = oracle_matrix("digits", "cityblock", None)
    d_o = nearest_other(D, y)
    same = (y[:, None] == y[None, :]) & ~np.eye(y.size, dtype=bool)
    tied = (same & (d_o[:, None] == D)).any(axis=1)
    assert tied.sum() > 100
    lenient = 1 + (same & (d_o[:, None] >= D)).sum(axis=1)
    strict = strict_counts(D, y)
    assert (lenient != strict).sum() == tied.sum()
    k = kstar_values(X, y, metric="cityblock", dtype="float64", normalize=False)
    np.testing.assert_array_equal(k, strict)


@pytest.mark.parametrize("case", METRIC_CASES, ids=case_id)
def test_hand_made_ties(case):
    """1-D points where a same-class sample sits exactly at d_o: the strict rule excludes it."""
    metric, p = case
    if metric == "cosine":  # 1-D directions are only +-1: build an exact tie in 2-D instead
        X = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, -1.0], [0.0, 2.0], [-1.0, 0.0]])
        y = np.array([0, 0, 1, 1, 2])
        # sample 0: other classes at cos-distance 1 (rows 2, 3) and 2; same class row 1 at 1.
        k = kstar_values(X, y, metric=metric, dtype="float64", normalize=False)
        assert k[0] == 1
        np.testing.assert_array_equal(k, strict_counts(distance_matrix(X, metric), y))
        return
    X = np.array([[0.0], [1.0], [-1.0], [0.5], [5.0], [6.0]])
    y = np.array([0, 0, 1, 0, 2, 2])
    # sample 0: d_o = 1 (row 2); same class at 1 (row 1, a tie: not counted), 0.5 (counted)
    k = kstar_values(X, y, metric=metric, p=p, dtype="float64", normalize=False)
    assert k[0] == 2
    np.testing.assert_array_equal(k, [2, 3, 1, 3, 2, 2])
    np.testing.assert_array_equal(k, strict_counts(distance_matrix(X, metric, p), y))


@pytest.mark.parametrize("case", METRIC_CASES, ids=case_id)
def test_notebook_procedure_agrees_on_tie_free_data(case):
    metric, p = case
    rng = np.random.default_rng(7)
    X = rng.normal(size=(150, 5))
    y = rng.integers(0, 3, size=150)
    D = distance_matrix(X, metric, p)
    off = D[~np.eye(y.size, dtype=bool)].reshape(y.size, y.size - 1)
    srt = np.sort(off, axis=1)
    assert (np.diff(srt, axis=1) > 1e-9 * srt[:, 1:]).all(), "test data must be tie-free"
    assert (srt[:, 0] > 0).all()

    k = kstar_values(X, y, metric=metric, p=p, dtype="float64")

    np.testing.assert_array_equal(k, notebook_kstar(D, y))
    np.testing.assert_array_equal(k, strict_counts(D, y) / class_sizes(y))


@pytest.mark.parametrize("case", METRIC_CASES, ids=case_id)
def test_block_size_does_not_change_float64_results(case):
    metric, p = case
    rng = np.random.default_rng(3)
    X = rng.normal(size=(90, 4))
    y = rng.integers(0, 3, size=90)  # classes interleave, so tiles straddle classes
    results = {
        b: kstar_values(X, y, metric=metric, p=p, dtype="float64", block_size=b)
        for b in (1, 7, 64, 1000, None)
    }
    expected = strict_counts(distance_matrix(X, metric, p), y) / class_sizes(y)
    for b, k in results.items():
        np.testing.assert_array_equal(k, expected, err_msg=f"block_size={b}")


@pytest.mark.parametrize("metric", ["euclidean", "cityblock", "chebyshev"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_block_size_does_not_change_results_with_ties(metric, dtype):
    """Integer data with many exact ties: every tiling gives the strict-rule answer."""
    X, y, _ = dataset("digits")
    X, y = X[::12], y[::12]  # 150 samples, 10 classes
    expected = strict_counts(distance_matrix(X, metric), y) / class_sizes(y)
    for b in (1, 7, 64, None):
        k = kstar_values(X, y, metric=metric, dtype=dtype, block_size=b)
        np.testing.assert_array_equal(k, expected, err_msg=f"block_size={b}")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("metric", ["euclidean", "cityblock", "cosine"])
def test_numpy_torch_and_h5py_inputs_agree(tmp_path, metric, dtype):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(120, 5))
    y = rng.integers(0, 4, size=120)
    path = tmp_path / "latents.h5"
    with h5py.File(path, "w") as fh:
        fh.create_dataset("X", data=X)
    kwargs = {"metric": metric, "dtype": dtype, "block_size": 16}
    from_numpy = kstar_values(X, y, **kwargs)
    from_torch = kstar_values(torch.from_numpy(X), torch.from_numpy(y), **kwargs)
    with h5py.File(path, "r") as fh:
        from_h5 = kstar_values(fh["X"], y, **kwargs)
        from_h5_auto = kstar_values(fh["X"], y, metric=metric, dtype=dtype)
    np.testing.assert_array_equal(from_torch, from_numpy)
    np.testing.assert_array_equal(from_h5, from_numpy)
    np.testing.assert_array_equal(from_h5_auto, from_numpy)
    if dtype == "float64":
        expected = strict_counts(distance_matrix(X, metric), y) / class_sizes(y)
        np.testing.assert_array_equal(from_numpy, expected)


def test_h5py_input_with_ties_and_scattered_classes(tmp_path):
    """Streaming from HDF5 takes scattered same-class rows; the answer stays exact."""
    X, y, _ = dataset("digits")
    X, y = X[:400], y[:400]
    path = tmp_path / "digits.h5"
    with h5py.File(path, "w") as fh:
        fh.create_dataset("X", data=X.astype(np.uint8))
    expected = strict_counts(distance_matrix(X, "chebyshev"), y) / class_sizes(y)
    with h5py.File(path, "r") as fh:
        k = kstar_values(fh["X"], y, metric="chebyshev", dtype="float64", block_size=13)
    np.testing.assert_array_equal(k, expected)


def test_input_dtypes_and_label_types_agree():
    X, y, _ = dataset("iris_x10")
    base = kstar_values(X, y, metric="cityblock", dtype="float64")
    variants = [
        kstar_values(X.astype(np.int32), y, metric="cityblock", dtype="float64"),
        kstar_values(X.astype(np.float32), y.astype(np.uint8), metric="cityblock", dtype="float64"),
        kstar_values(X.tolist(), y.tolist(), metric="cityblock", dtype="float64"),
        kstar_values(X, y.astype(np.float64), metric="cityblock", dtype="float64"),
        kstar_values(X, y + 100, metric="cityblock", dtype="float64"),  # labels need not be 0..C-1
        kstar_values(np.asfortranarray(X), y, metric="cityblock", dtype="float64"),
        kstar_values(np.repeat(X, 2, axis=1)[:, ::2], y, metric="cityblock", dtype="float64"),
        kstar_values(torch.from_numpy(X).T.contiguous().T, y, metric="cityblock", dtype="float64"),
        kstar_values(torch.from_numpy(X).to(torch.int16), y, metric="cityblock", dtype="float64"),
        kstar_values(X, y, metric="cityblock", dtype="float64", block_size=np.int64(5)),
    ]
    for k in variants:
        np.testing.assert_array_equal(k, base)


@pytest.mark.parametrize(
    "case", [("euclidean", None), ("chebyshev", None), ("minkowski", 3.0)], ids=case_id
)
def test_unnormalised_counts(case):
    metric, p = case
    X, y, _ = dataset("iris_x10")
    counts = kstar_values(X, y, metric=metric, p=p, dtype="float64", normalize=False)
    normalised = kstar_values(X, y, metric=metric, p=p, dtype="float64")
    n_c = class_sizes(y)
    assert counts.dtype.kind == "i"
    assert counts.min() >= 1
    assert (counts <= n_c).all()
    np.testing.assert_array_equal(counts, strict_counts(distance_matrix(X, metric, p), y))
    np.testing.assert_allclose(normalised * n_c, counts, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(np.rint(normalised * n_c).astype(np.int64), counts)


def test_minkowski_special_orders_match_named_metrics():
    X, y, _ = dataset("random")
    for p, name in [(1, "cityblock"), (2, "euclidean"), (np.inf, "chebyshev")]:
        np.testing.assert_array_equal(
            kstar_values(X, y, metric="minkowski", p=p, dtype="float64"),
            kstar_values(X, y, metric=name, dtype="float64"),
        )


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean"])
def test_float64_euclidean_with_a_large_common_offset(metric):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)) + 1e7
    y = rng.integers(0, 3, size=300)
    D = distance_matrix(X, metric)
    expected = strict_counts(D, y) / class_sizes(y)
    near = near_tie_samples(D, y, rtol=1e-9, exact_ties=True)
    k = kstar_values(X, y, metric=metric, dtype="float64")
    assert near.sum() < 10
    np.testing.assert_array_equal(k[~near], expected[~near])


def test_progress_bar_does_not_change_results(capsys):
    X, y, _ = dataset("random")
    quiet = kstar_values(X, y, dtype="float64", block_size=50)
    loud = kstar_values(X, y, dtype="float64", block_size=50, progress=True)
    np.testing.assert_array_equal(loud, quiet)
    assert capsys.readouterr().out == ""  # progress goes to stderr, never stdout


def test_two_samples_and_singleton_classes():
    X = np.array([[0.0, 0.0], [3.0, 4.0]])
    np.testing.assert_array_equal(kstar_values(X, [0, 1], dtype="float64"), [1.0, 1.0])
    X = np.array([[0.0], [1.0], [2.0], [10.0]])
    y = np.array([0, 0, 1, 2])  # classes 1 and 2 hold one sample each: k* = 1/1
    np.testing.assert_array_equal(kstar_values(X, y, dtype="float64"), [1.0, 0.5, 1.0, 1.0])


# --------------------------------------------------------------------------- nearest


def _check_nearest(nearest, D, y, *, exact):
    """``nearest`` is the oracle's nearest other-class sample (lowest index on ties); when
    not ``exact``, samples with a near-tie among the other-class distances may name
    another one, but it still lies at the oracle's d_o within that tolerance."""
    d_o = nearest_other(D, y)
    expected = nearest_other_index(D, y)
    assert nearest.dtype == np.int64 and nearest.shape == y.shape
    assert (y[nearest] != y).all()
    near = np.zeros(y.size, dtype=bool) if exact else nearest_near_ties(D, y, rtol=1e-9, atol=1e-15)
    mismatch = np.flatnonzero((nearest != expected) & ~near)
    assert mismatch.size == 0, (
        f"{mismatch.size} samples name another nearest sample than the oracle, e.g. "
        f"{mismatch[:5]}: {nearest[mismatch[:5]]} vs {expected[mismatch[:5]]}"
    )
    found = D[np.arange(y.size), nearest]
    if exact:
        np.testing.assert_array_equal(found, d_o)
    else:
        np.testing.assert_allclose(found, d_o, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("block", [3, 7, None])
@pytest.mark.parametrize("case", METRIC_CASES, ids=case_id)
@pytest.mark.parametrize("name", ["random", "iris_x10", "digits", "lattice"])
def test_nearest_equals_oracle(name, case, block):
    """float64: the nearest other-class sample of every sample, lowest index on ties, over
    several tiles; exact wherever float64 arithmetic is (integer data, not cosine or p=1.5)."""
    metric, p = case
    X, y, integer = dataset(name)
    if name == "digits":
        X, y = X[::6], y[::6]  # 300 samples: enough ties, a tolerable count of tiles
    D = distance_matrix(X, metric, p)
    k, nearest = kstar_values(
        X, y, metric=metric, p=p, dtype="float64", block_size=block, return_nearest=True
    )
    exact = integer and case in EXACT_ON_INTEGERS
    if exact and (name == "lattice" or metric in ("cityblock", "chebyshev")):
        # the tie rule is really exercised: several other-class samples at d_o
        tied = (y[:, None] != y[None, :]) & (nearest_other(D, y)[:, None] == D)
        assert (tied.sum(axis=1) > 1).sum() > 10
    _check_nearest(nearest, D, y, exact=exact)
    if exact:
        np.testing.assert_array_equal(k, strict_counts(D, y) / class_sizes(y))


@pytest.mark.parametrize("metric", ["euclidean", "cityblock", "chebyshev"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nearest_with_ties_does_not_depend_on_the_tiling(metric, dtype):
    """Integer data with many exact ties (exact in float32 too): every tiling, from one
    row per tile up, names the lowest-index nearest other-class sample."""
    X, y, _ = dataset("digits")
    X, y = X[::12], y[::12]  # 150 samples, 10 classes
    D = distance_matrix(X, metric)
    for b in (1, 3, 7, 64, None):
        _, nearest = kstar_values(
            X, y, metric=metric, dtype=dtype, block_size=b, return_nearest=True
        )
        np.testing.assert_array_equal(nearest, nearest_other_index(D, y), err_msg=f"b={b}")


@pytest.mark.parametrize("case", METRIC_CASES, ids=case_id)
def test_hand_made_nearest_ties(case):
    """Tied other-class samples in the sample's own tile, in earlier and in later tiles
    (block_size=2): the lowest index wins wherever the tie is found."""
    metric, p = case
    if metric == "cosine":
        X = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 2.0], [1.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
        y = np.array([1, 0, 0, 0, 0, 1])  # sample 3: rows 0 and 5 tie at 1 - 1/sqrt(2)
    else:
        X = np.array([[-1.0], [5.0], [1.0], [0.0], [-1.0], [1.0]])
        y = np.array([1, 2, 1, 0, 1, 1])  # sample 3: rows 0, 2, 4, 5 tie at 1
    D = distance_matrix(X, metric, p)
    for b in (1, 2, 4, 6):
        _, nearest = kstar_values(
            X, y, metric=metric, p=p, dtype="float64", block_size=b, return_nearest=True
        )
        assert nearest[3] == 0, f"block_size={b}"
        np.testing.assert_array_equal(nearest, nearest_other_index(D, y), err_msg=f"b={b}")


def test_nearest_keeps_the_lower_index_in_any_tile_order():
    """The merge of tile minima prefers the lower index on equal distances by itself, not
    through the order in which the tiles come; torch's min(dim=...) names the first of
    tied minima along rows and along columns."""
    from kstarlab.kstar.engine import _keep_nearest

    tiles = [([2.0, 1.0, 5.0], [40, 41, 42]), ([2.0, 1.0, 4.0], [10, 50, 60])]
    for order in (tiles, tiles[::-1]):
        best = torch.full((3,), np.inf, dtype=torch.float64)
        held = torch.full((3,), 99, dtype=torch.int64)
        for values, index in order:
            values = torch.tensor(values, dtype=torch.float64)
            _keep_nearest(best, held, values, torch.tensor(index))
        np.testing.assert_array_equal(best, [2.0, 1.0, 4.0])
        np.testing.assert_array_equal(held, [10, 41, 60])
    tile = torch.tensor([[3.0, 1.0, 3.0, 1.0], [1.0, 1.0, 0.0, 1.0], [1.0, 2.0, 0.0, 1.0]])
    np.testing.assert_array_equal(tile.min(dim=1).indices, [1, 2, 2])
    np.testing.assert_array_equal(tile.min(dim=0).indices, [1, 0, 1, 0])


def test_nearest_when_distances_overflow():
    """Distances beyond the dtype's range are inf: every other-class sample ties at d_o,
    and the lowest-index one is named (never a masked same-class sample)."""
    X = np.array([[-1e308, 0.0], [1e308, 0.0], [-1e308, 1.0], [1e308, 1.0]])
    y = np.array([1, 0, 1, 0])
    for metric in ("cityblock", "chebyshev"):
        D = distance_matrix(X, metric)
        assert np.isinf(nearest_other(D, y)).all()
        for b in (1, 3, None):
            _, nearest = kstar_values(
                X, y, metric=metric, dtype="float64", block_size=b, return_nearest=True
            )
            np.testing.assert_array_equal(nearest, [1, 0, 1, 0])
            np.testing.assert_array_equal(nearest, nearest_other_index(D, y))
    X32 = np.array([[3e38, 3e38], [0.0, 0.0], [-3e38, -3e38], [3e38, 3e38]], dtype=np.float32)
    _, nearest = kstar_values(
        X32, [1, 1, 0, 1], metric="cityblock", block_size=1, return_nearest=True
    )
    np.testing.assert_array_equal(nearest, [2, 2, 0, 2])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", METRIC_CASES, ids=case_id)
@pytest.mark.parametrize("normalize", [True, False])
def test_return_nearest_changes_no_value(case, dtype, normalize):
    """The values with ``return_nearest`` are those without it, bit for bit; without it
    the result is one array, not a tuple."""
    metric, p = case
    X, y, _ = dataset("random")
    kwargs = {"metric": metric, "p": p, "dtype": dtype, "normalize": normalize, "block_size": 50}
    plain = kstar_values(X, y, **kwargs)
    assert isinstance(plain, np.ndarray)
    assert isinstance(kstar_values(X, y, return_nearest=False, **kwargs), np.ndarray)
    both = kstar_values(X, y, return_nearest=True, **kwargs)
    assert isinstance(both, tuple) and len(both) == 2
    values, nearest = both
    assert values.dtype == plain.dtype
    np.testing.assert_array_equal(values, plain)
    np.testing.assert_array_equal(kstar_values(X, y, return_nearest=False, **kwargs), plain)
    assert (y[nearest] != y).all()


@pytest.mark.parametrize("metric", ["euclidean", "chebyshev", "cosine"])
def test_nearest_from_numpy_torch_and_h5py_agree(tmp_path, metric):
    X, y, _ = dataset("iris_x10")
    path = tmp_path / "latents.h5"
    with h5py.File(path, "w") as fh:
        fh.create_dataset("X", data=X)
    kwargs = {"metric": metric, "dtype": "float64", "block_size": 16, "return_nearest": True}
    _, from_numpy = kstar_values(X, y, **kwargs)
    _, from_torch = kstar_values(torch.from_numpy(X), torch.from_numpy(y), **kwargs)
    with h5py.File(path, "r") as fh:
        _, from_h5 = kstar_values(fh["X"], y, **kwargs)
    np.testing.assert_array_equal(from_torch, from_numpy)
    np.testing.assert_array_equal(from_h5, from_numpy)
