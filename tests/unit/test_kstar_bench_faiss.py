"""The k* benchmark's FAISS peer (benchmarks/kstar_bench.py, issue 16 §2).

`faiss_kstar` (FAISS's exact flat indexes) against `kstar_values` and the independent
float64 oracle (tests/oracle.py), on data chosen so that float32 cannot decide a single
sample differently (checked, not assumed); and the bench's handling of a missing FAISS.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris

from kstarlab import kstar_values
from oracle import distance_matrix, near_tie_samples, rounding_tolerance, strict_counts

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "kstar_bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("kstar_bench_under_test", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def random_data(seed: int = 19) -> tuple[np.ndarray, np.ndarray]:
    """N = 200 float64 rows in 8 dimensions, 4 unbalanced classes around shifted centres.

    Seed 19: the oracle's float32 rounding band (`rounding_tolerance`, conservative: it
    flags 1 to 4 samples of most seeds) flags no sample for any of the three metrics."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.repeat([0, 1, 2, 3], [80, 60, 40, 20]))
    centres = rng.normal(scale=1.5, size=(4, 8))
    return centres[y] + rng.normal(size=(200, 8)), y


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "cosine"])
def test_faiss_kstar_equals_kstar_values_and_the_oracle(bench, metric):
    pytest.importorskip("faiss")
    X, y = random_data()
    D = distance_matrix(X, metric)
    # the premise: no sample within float32 rounding of a tie, so FAISS must agree exactly
    assert not near_tie_samples(D, y, **rounding_tolerance(X, D, y, metric, "float32")).any()
    k = bench.faiss_kstar(X, y, metric=metric, normalize=False, threads=1)
    assert k.dtype == np.int64
    np.testing.assert_array_equal(
        k, kstar_values(X, y, metric=metric, dtype="float64", normalize=False)
    )
    np.testing.assert_array_equal(k, strict_counts(D, y))
    assert k.max() > 1  # not a trivially separated data set
    values = bench.faiss_kstar(X, y, metric=metric, threads=1)
    np.testing.assert_array_equal(values, kstar_values(X, y, metric=metric, dtype="float64"))


def test_faiss_kstar_follows_the_strict_rule_on_exact_ties(bench):
    """Iris in millimetres: integers with duplicate rows (a row's twin at distance 0 may come
    before it) and same-class samples at exactly d_o (which must not count). float32 holds
    these squared distances exactly, so FAISS must match the strict rule sample by sample."""
    pytest.importorskip("faiss")
    X, y = load_iris(return_X_y=True)
    X = np.round(X * 10)
    D = distance_matrix(X, "euclidean")
    d_o = np.where(y[:, None] != y[None, :], D, np.inf).min(axis=1)
    same = (y[:, None] == y[None, :]) & ~np.eye(y.size, dtype=bool)
    assert (same & (d_o[:, None] == D)).any()  # the premise: exact ties at d_o
    assert (same & (D == 0)).any()  # and duplicates
    k = bench.faiss_kstar(X, y, metric="euclidean", normalize=False, threads=1)
    np.testing.assert_array_equal(k, strict_counts(D, y))
    np.testing.assert_array_equal(k, kstar_values(X, y, dtype="float64", normalize=False))


def test_faiss_kstar_refuses_what_it_does_not_compute(bench):
    pytest.importorskip("faiss")
    X, y = random_data()
    with pytest.raises(ValueError, match="cityblock"):
        bench.faiss_kstar(X, y, metric="cityblock")
    X[3] = 0.0
    with pytest.raises(ValueError, match="all-zero row"):
        bench.faiss_kstar(X, y, metric="cosine")


def test_bench_without_faiss_says_how_to_get_it_and_skips_it(bench, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss -> ImportError
    args = bench.parse_args(["--methods", "tiles_tri,kstar,faiss", "--metrics", "cosine"])
    bench.drop_missing_faiss(args)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and "pip install -e '.[bench]'" in out[0]
    assert args.methods == ["tiles_tri", "kstar"]


def test_bench_plans_faiss_for_euclidean_and_cosine_only(bench):
    args = bench.parse_args(
        [
            *("--sizes", "100", "--dims", "10,1000"),
            *("--metrics", "euclidean,cosine,cityblock", "--methods", "tiles_tri,kstar,faiss"),
        ]
    )
    cells = bench.plan(args)
    assert {(c.d, c.metric) for c in cells} == {
        (d, m) for d in (10, 1000) for m in ("euclidean", "cosine", "cityblock")
    }
    for c in cells:
        if c.metric == "cityblock":
            assert c.methods == ["tiles_tri", "kstar"] and "faiss" in c.skipped
        else:
            assert c.methods == ["tiles_tri", "kstar", "faiss"] and not c.skipped
    with pytest.raises(SystemExit):
        bench.parse_args(["--metrics", "cosinus"])


def test_issue_16_targets_are_judged_per_cell(bench):
    """The bench's verdicts: small D within 1.5× of the triangle tiles, and 1.5× ahead of
    FAISS, each a PASS or MISS line for the cell that meets or misses it."""

    def cell(n, d, metric, **times):
        rounds = {method: [1] for method in times}
        return bench.Cell(n, d, metric, times={k: [v] for k, v in times.items()}, rounds=rounds)

    lines = bench.targets(
        [
            cell(10000, 10, "cosine", kstar=1.0, tiles_tri=0.8, faiss=2.0),
            cell(50000, 64, "euclidean", kstar=2.0, tiles_tri=1.0, faiss=2.5),
            cell(10000, 2048, "euclidean", kstar=1.0, tiles_tri=0.1),
        ],
        {},
    )
    text = "\n".join(lines)
    assert "PASS: cosine N=10000 D=10: kstar / triangle tiles' distances = 1.25" in text
    assert "PASS: cosine N=10000 D=10: kstar is 2.00× faster than FAISS" in text
    assert "MISS: euclidean N=50000 D=64: kstar / triangle tiles' distances = 2.00" in text
    assert "MISS: euclidean N=50000 D=64: kstar is 1.25× faster than FAISS" in text
    assert "D=2048: kstar / triangle" not in text  # large D: the X @ X.T target instead
