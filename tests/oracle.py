"""An independent brute-force k* oracle for the tests (not a test module).

Everything here builds the full float64 N x N distance matrix with
``scipy.spatial.distance.cdist`` and applies the definitions literally, so it shares no
code and no arithmetic tricks with `kstarlab.kstar.engine` (no tiles, no squared-norm expansion,
no symmetry).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

# (line, count) per oracle comparison: "<data> <metric> <dtype>: n near-tie samples ...".
# conftest.py prints the non-zero ones at the end of the session, so the exclusion counts
# are visible in every test run.
EXCLUSION_LOG: list[tuple[str, int]] = []

# (metric, p) pairs: every metric kstar_values accepts, minkowski with two orders.
METRIC_CASES = [
    ("euclidean", None),
    ("sqeuclidean", None),
    ("cityblock", None),
    ("chebyshev", None),
    ("minkowski", 3.0),
    ("minkowski", 1.5),
    ("cosine", None),
]


def case_id(case: tuple[str, float | None]) -> str:
    metric, p = case
    return metric if p is None else f"{metric}-p{p:g}"


def distance_matrix(X: np.ndarray, metric: str, p: float | None = None) -> np.ndarray:
    """The full float64 distance matrix, computed by scipy."""
    X = np.asarray(X, dtype=np.float64)
    if metric == "minkowski":
        return cdist(X, X, "minkowski", p=p)
    return cdist(X, X, metric)


def class_sizes(y: np.ndarray) -> np.ndarray:
    """n_c of every sample's class."""
    y = np.asarray(y)
    _, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    return counts[codes.reshape(-1)]


def nearest_other(D: np.ndarray, y: np.ndarray) -> np.ndarray:
    """d_o(i): the smallest distance from i to a sample of another class."""
    y = np.asarray(y)
    other = y[:, None] != y[None, :]
    return np.where(other, D, np.inf).min(axis=1)


def nearest_other_index(D: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The j with y_j != y_i minimising D[i, j], the lowest such j on ties, for every i."""
    y = np.asarray(y)
    nearest = np.empty(y.size, dtype=np.int64)
    for i in range(y.size):
        others = np.flatnonzero(y != y[i])
        distances = D[i, others]
        nearest[i] = others[distances == distances.min()][0]
    return nearest


def nearest_near_ties(
    D: np.ndarray, y: np.ndarray, *, rtol: float, atol: float = 0.0
) -> np.ndarray:
    """Boolean mask of samples with a second other-class sample within rounding error of
    d_o (``|D[i, j] - d_o(i)| <= rtol * d_o(i) + atol``, exact ties included): where the
    engine's rounding may name another nearest sample than this oracle."""
    y = np.asarray(y)
    d_o = nearest_other(D, y)
    close = (y[:, None] != y[None, :]) & (np.abs(D - d_o[:, None]) <= (rtol * d_o + atol)[:, None])
    return close.sum(axis=1) > 1


def _same_class_not_self(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    same = y[:, None] == y[None, :]
    np.fill_diagonal(same, False)
    return same


def strict_counts(D: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k*_i = 1 + #{j != i : y_j = y_i and D[i, j] < d_o(i)} (strict rule), as int64."""
    d_o = nearest_other(D, y)
    closer = _same_class_not_self(y) & (d_o[:, None] > D)
    return 1 + closer.sum(axis=1).astype(np.int64)


def oracle_kstar(
    X: np.ndarray, y: np.ndarray, metric: str, p: float | None = None, *, normalize: bool = True
) -> np.ndarray:
    """The strict-rule k* of every sample from the full float64 scipy distance matrix."""
    D = distance_matrix(X, metric, p)
    k = strict_counts(D, y)
    return k / class_sizes(y) if normalize else k


def notebook_kstar(D: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The authors' notebook procedure, normalised: sort each row, self first, take the
    position of the first other-class label. Only meaningful when no distances tie."""
    y = np.asarray(y)
    n = y.size
    k = np.empty(n, dtype=np.int64)
    for i in range(n):
        order = np.argsort(D[i], kind="stable")
        order = np.concatenate([[i], order[order != i]])  # the sample itself comes first
        labels = y[order]
        k[i] = int(np.flatnonzero(labels != y[i])[0])
    return k / class_sizes(y)


def near_tie_samples(
    D: np.ndarray,
    y: np.ndarray,
    *,
    rtol: float,
    atol: float | np.ndarray = 0.0,
    exact_ties: bool = False,
) -> np.ndarray:
    """Boolean mask of samples with a same-class distance within rounding error of d_o.

    Sample i is a near-tie when some same-class j != i has
    ``|D[i, j] - d_o(i)| <= rtol * d_o(i) + atol`` (``atol`` may be per sample). Exact ties
    (``D[i, j] == d_o(i)``) are *not* near-ties unless ``exact_ties``: when the data and
    the metric make float64 arithmetic exact (integer data), an exact tie is a real tie and
    the strict rule must be followed exactly.
    """
    d_o = nearest_other(D, y)
    band = rtol * d_o + np.broadcast_to(np.asarray(atol, dtype=np.float64), d_o.shape)
    gap = np.abs(D - d_o[:, None])
    near = _same_class_not_self(y) & (gap <= band[:, None])
    if not exact_ties:
        near &= gap > 0
    return near.any(axis=1)


def rounding_tolerance(
    X: np.ndarray, D: np.ndarray, y: np.ndarray, metric: str, dtype: str
) -> dict[str, object]:
    """Keyword arguments for `near_tie_samples` that cover the engine's rounding error.

    float64: relative 1e-9 (exact ties count only for cosine, whose 1 - cos similarity
    is never exact). float32: relative 1e-5, plus an absolute term for the metrics the
    engine evaluates through dot products, whose error scales with the squared norms
    rather than with the distance; every exact tie may break either way.
    """
    X = np.asarray(X, dtype=np.float64)
    if dtype == "float64":
        return {
            "rtol": 1e-9,
            "atol": 1e-15 if metric == "cosine" else 0.0,
            "exact_ties": metric == "cosine",
        }
    rtol = 1e-5
    sq = (X * X).sum(axis=1)
    d_o = nearest_other(D, y)
    if metric == "sqeuclidean":
        atol = rtol * (sq + sq.max())
    elif metric == "euclidean":
        atol = rtol * (sq + sq.max()) / (2 * np.maximum(d_o, 1e-300))
    elif metric == "cosine":
        atol = np.full_like(d_o, rtol)
    else:
        atol = np.zeros_like(d_o)
    return {"rtol": rtol, "atol": atol, "exact_ties": True}
