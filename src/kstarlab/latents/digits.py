"""scikit-learn's digits and their stratified 70/30 train/test split, as one file.

The digits are scikit-learn's 1,797 real 8×8 handwritten digits (`sklearn.datasets.
load_digits`); the split is its `train_test_split` with 30% test, stratified by label and
fixed by a seed. Both come from scikit-learn's public API only (`build_digits`). The
workflow's data rule writes them once to an ``.npz`` file (`write_digits`), and every job
that trains or evaluates on the digits reads that file (`read_digits`: numpy only, so no
job imports scikit-learn, and all of them read the same split). Torch-free.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass

import numpy as np

from kstarlab.errors import InputError

TEST_FRACTION = 0.3  # the held-out share of the stratified split
SPLITS = ("train", "test", "all")
#: The arrays of a digits file.
KEYS = ("pixels", "labels", "class_names", "train", "test", "split_seed", "scikit_learn")


@dataclass(frozen=True)
class Digits:
    """The digits and one split: ``pixels`` (N, 8, 8) float64 in 0–16 and ``labels`` (N,)
    int64 as scikit-learn gives them, sorted ``train`` and ``test`` row indices, the
    ``split_seed`` that drew them and the ``scikit_learn`` version that made them."""

    pixels: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    train: np.ndarray
    test: np.ndarray
    split_seed: int
    scikit_learn: str

    def rows(self, split: str) -> np.ndarray:
        """The row indices of ``split`` (train, test or all), sorted."""
        if check_split(split) == "all":
            return np.arange(self.labels.shape[0])
        return self.train if split == "train" else self.test

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays of its file (`KEYS`)."""
        return {
            "pixels": self.pixels,
            "labels": self.labels,
            "class_names": np.asarray(self.class_names, dtype=str),
            "train": self.train,
            "test": self.test,
            "split_seed": np.int64(self.split_seed),
            "scikit_learn": np.asarray(self.scikit_learn, dtype=str),
        }


def check_split(split: str) -> str:
    """``split`` if it is one of `SPLITS`."""
    if split not in SPLITS:
        raise InputError(f"unknown split {split!r}; available: {', '.join(SPLITS)}")
    return split


def check_split_seed(seed: int) -> int:
    """``seed`` if it can seed the split (scikit-learn's ``random_state``: 0 to 2³² − 1)."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**32:
        raise InputError(f"digits split seed must be an integer from 0 to 2**32 - 1, got {seed!r}")
    return int(seed)


def build_digits(split_seed: int = 0) -> Digits:
    """The digits and their split, made here with scikit-learn's public API."""
    import sklearn
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    seed = check_split_seed(split_seed)
    bunch = load_digits()
    labels = np.asarray(bunch.target, dtype=np.int64)
    train, test = train_test_split(
        np.arange(labels.shape[0]), test_size=TEST_FRACTION, stratify=labels, random_state=seed
    )
    return Digits(
        pixels=np.asarray(bunch.images, dtype=np.float64),
        labels=labels,
        class_names=[str(name) for name in bunch.target_names],
        train=np.sort(train).astype(np.int64),
        test=np.sort(test).astype(np.int64),
        split_seed=seed,
        scikit_learn=sklearn.__version__,
    )


def write_digits(path: str | os.PathLike[str], split_seed: int = 0) -> Digits:
    """`build_digits` written to the ``.npz`` file ``path``, atomically (same seed and
    scikit-learn, same bytes); returns what it wrote."""
    from kstarlab.io import write_npz

    digits = build_digits(split_seed)
    write_npz(path, digits.arrays())
    return digits


def read_digits(path: str | os.PathLike[str], split_seed: int | None = None) -> Digits:
    """The digits file at ``path`` (`write_digits`), checked; with ``split_seed``, it must
    hold that seed's split. A missing or malformed file is a one-line `InputError`."""
    if not os.path.isfile(path):
        raise InputError(f"digits file not found: {path} (the workflow's data rule writes it)")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError("not an .npz archive")
        with loaded as archive:
            arrays = {key: archive[key] for key in KEYS if key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"cannot read digits file {path}: {exc}") from None
    missing = [key for key in KEYS if key not in arrays]
    if missing:
        raise InputError(f"digits file {path} lacks {', '.join(missing)}")
    if arrays["split_seed"].shape != () or not np.issubdtype(
        arrays["split_seed"].dtype, np.integer
    ):
        raise InputError(f"digits file {path}: split_seed must be one integer")
    digits = Digits(
        pixels=arrays["pixels"],
        labels=arrays["labels"],
        class_names=[str(name) for name in arrays["class_names"]],
        train=arrays["train"],
        test=arrays["test"],
        split_seed=int(arrays["split_seed"]),
        scikit_learn=str(arrays["scikit_learn"]),
    )
    _check(digits, path)
    if split_seed is not None and digits.split_seed != split_seed:
        raise InputError(
            f"digits file {path} holds the split of seed {digits.split_seed}, not {split_seed}"
        )
    return digits


def _check(digits: Digits, path: str | os.PathLike[str]) -> None:
    n = digits.labels.shape[0]
    rows = np.concatenate([digits.train, digits.test])
    if (
        digits.pixels.shape != (n, 8, 8)
        or digits.labels.ndim != 1
        or not np.issubdtype(digits.labels.dtype, np.integer)
        or not np.issubdtype(rows.dtype, np.integer)
        or not np.array_equal(np.sort(rows), np.arange(n))
    ):
        raise InputError(
            f"digits file {path} is malformed: pixels {digits.pixels.shape}, labels "
            f"{digits.labels.shape}, {digits.train.shape[0]} train and {digits.test.shape[0]} "
            "test rows (expected (N, 8, 8) pixels and a split of the N rows)"
        )
