"""scikit-learn's stratified train/test split, without importing scikit-learn.

``train_test_split(index, test_size=f, stratify=labels, random_state=seed)`` runs one
``StratifiedShuffleSplit`` iteration. `stratified_split` makes the same calls on the same
``numpy.random.RandomState`` (the allocation of train and test rows per class by an
approximate hypergeometric mode with random tie breaks, one permutation per class, then
one of each side), so it returns the same indices (tested against scikit-learn). Every
job that loads the digits needs the split; importing ``sklearn.model_selection`` (with
scipy) would cost each of them about a second.
"""

from __future__ import annotations

import math

import numpy as np


def stratified_split(
    labels: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test row indices, in scikit-learn's order (not sorted)."""
    labels = np.asarray(labels)
    n = labels.shape[0]
    n_test = math.ceil(test_fraction * n)
    n_train = n - n_test
    _classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if counts.min() < 2 or n_train < counts.size or n_test < counts.size:
        raise ValueError(
            f"cannot stratify {n} samples of {counts.size} classes (smallest class "
            f"{counts.min()}) into {n_train} train and {n_test} test samples"
        )
    members = np.split(np.argsort(inverse, kind="stable"), np.cumsum(counts)[:-1])
    rng = np.random.RandomState(seed)  # scikit-learn's legacy generator
    n_i = _approximate_mode(counts, n_train, rng)
    t_i = _approximate_mode(counts - n_i, n_test, rng)
    train: list[int] = []
    test: list[int] = []
    for i, rows in enumerate(members):
        shuffled = rows.take(rng.permutation(counts[i]), mode="clip")
        train.extend(shuffled[: n_i[i]])
        test.extend(shuffled[n_i[i] : n_i[i] + t_i[i]])
    return rng.permutation(train), rng.permutation(test)


def _approximate_mode(counts: np.ndarray, draws: int, rng: np.random.RandomState) -> np.ndarray:
    """Per-class draws near the multivariate hypergeometric mode; ties broken by ``rng``."""
    continuous = counts / counts.sum() * draws
    floored = np.floor(continuous)
    need = int(draws - floored.sum())
    if need > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (candidates,) = np.where(remainder == value)
            take = min(len(candidates), need)
            floored[rng.choice(candidates, size=take, replace=False)] += 1
            need -= take
            if need == 0:
                break
    return floored.astype(int)
