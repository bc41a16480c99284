"""A pruning study's analysis files: one per model, written by its analysis job.

Every entity of a pruning study (the dense model and each pruned model) is analysed once,
by the per-model job, into an *analysis file* (`write_analysis`, HDF5, byte-reproducible):

- attributes ``entity`` (e.g. ``dense``, ``finetune-0.9``), ``approach`` (``dense`` or
  one of `APPROACH_ORDER`), ``sparsity`` (0 for the dense model), ``measured_sparsity``,
  ``arch``, ``seed``, ``train_seconds`` and ``benchmarks`` (a JSON list, in order);
- dataset ``labels`` (N,) int64;
- groups ``clean`` and ``benchmarks/<benchmark>``, each with ``angle``, ``length``,
  ``margin`` (N,) float64 and ``predictions`` (N,) int64: the last-layer geometry and the
  predictions of the entity on the clean samples and on each corrupted benchmark.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from kstarlab import names, paths
from kstarlab.errors import InputError
from kstarlab.io import atomic_path

DENSE = paths.DENSE
CLEAN = "clean"
BENCH_GROUP = "benchmarks"
FEATURES = ("angle", "length", "margin")
#: The approaches in table order.
APPROACH_ORDER: tuple[str, ...] = names.APPROACHES
META_KEYS = ("entity", "approach", "sparsity", "measured_sparsity", "arch", "seed", "train_seconds")


@dataclass(frozen=True)
class Analysis:
    """One entity's analysis file: its description, labels and per-benchmark geometry."""

    path: Path
    entity: str
    approach: str
    sparsity: float
    measured_sparsity: float
    arch: str
    seed: int
    train_seconds: float
    benchmarks: tuple[str, ...]
    labels: np.ndarray
    #: ``clean`` and each benchmark -> angle, length, margin, predictions (N,) arrays.
    features: dict[str, dict[str, np.ndarray]] = field(repr=False)

    @property
    def is_dense(self) -> bool:
        return self.approach == DENSE

    def correct(self, benchmark: str = CLEAN) -> np.ndarray:
        """Per-sample correctness (bool) on ``clean`` or a benchmark."""
        return self.features[benchmark]["predictions"] == self.labels

    def accuracy(self, benchmark: str = CLEAN) -> float:
        return float(np.mean(self.correct(benchmark)))

    def corruption_robustness(self, benchmarks: Sequence[str]) -> np.ndarray:
        """Per sample: the fraction of ``benchmarks`` under which it is classified correctly."""
        return np.mean([self.correct(b) for b in benchmarks], axis=0)


def _field(obj: Any, key: str) -> Any:
    """``obj.key`` (a `GeometricFeatures`) or ``obj[key]`` (a mapping, a DataFrame)."""
    if hasattr(obj, key):
        return getattr(obj, key)
    try:
        return obj[key]
    except (KeyError, TypeError, IndexError):
        raise InputError(f"features lack {key!r}") from None


def _check_meta(meta: Mapping[str, Any], where: str) -> dict[str, Any]:
    missing = [k for k in META_KEYS if k not in meta]
    if missing:
        raise InputError(f"{where}: analysis metadata lacks {', '.join(missing)}")
    approach = str(meta["approach"])
    if approach != DENSE and approach not in APPROACH_ORDER:
        raise InputError(
            f"{where}: unknown approach {approach!r}; choose {DENSE} or {', '.join(APPROACH_ORDER)}"
        )
    try:
        sparsity = float(meta["sparsity"])
    except (TypeError, ValueError):
        raise InputError(f"{where}: sparsity {meta['sparsity']!r} is not a number") from None
    if not 0.0 <= sparsity < 1.0:
        raise InputError(f"{where}: sparsity must lie in [0, 1), got {sparsity}")
    if approach == DENSE and sparsity != 0.0:
        raise InputError(f"{where}: the dense model has sparsity 0, got {sparsity}")
    return {
        "entity": str(meta["entity"]),
        "approach": approach,
        "sparsity": sparsity,
        "measured_sparsity": float(meta["measured_sparsity"]),
        "arch": str(meta["arch"]),
        "seed": int(meta["seed"]),
        "train_seconds": float(meta["train_seconds"]),
    }


def write_analysis(
    path: str | os.PathLike[str],
    meta: Mapping[str, Any],
    labels: Any,
    features: Mapping[str, Any],
) -> None:
    """Write one entity's analysis file, atomically and byte-reproducibly.

    ``meta`` holds `META_KEYS` (and optionally ``benchmarks``: it must then list the
    benchmarks of ``features`` in order). ``features`` maps ``clean`` and each benchmark to
    per-sample features with ``angle``, ``length``, ``margin`` and ``predictions`` (a
    `GeometricFeatures`, a mapping or a DataFrame), e.g. `evaluate_model`'s result.
    """
    where = str(path)
    info = _check_meta(meta, where)
    if CLEAN not in features:
        raise InputError(f"{where}: features lack the {CLEAN!r} samples")
    benchmarks = [str(b) for b in features if b != CLEAN]
    if "benchmarks" in meta and list(meta["benchmarks"]) != benchmarks:
        raise InputError(
            f"{where}: metadata lists benchmarks {list(meta['benchmarks'])}, features hold {benchmarks}"
        )
    bad = [b for b in benchmarks if "/" in b or not b]
    if bad:
        raise InputError(f"{where}: benchmark names must be non-empty without '/': {bad}")
    y = np.asarray(labels)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise InputError(f"{where}: labels must be a 1-D integer array, got {y.dtype} {y.shape}")
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        for key, value in info.items():
            h5.attrs[key] = value
        h5.attrs["benchmarks"] = json.dumps(benchmarks)
        h5.create_dataset("labels", data=y.astype(np.int64), track_times=False)
        for name in (CLEAN, *benchmarks):
            group = h5.create_group(name if name == CLEAN else f"{BENCH_GROUP}/{name}")
            for key in (*FEATURES, "predictions"):
                dtype = np.int64 if key == "predictions" else np.float64
                values = np.asarray(_field(features[name], key), dtype=dtype)
                if values.shape != y.shape:
                    raise InputError(
                        f"{where}: {name} {key} has shape {values.shape}, labels {y.shape}"
                    )
                group.create_dataset(key, data=values, track_times=False)


def read_analysis(path: str | os.PathLike[str]) -> Analysis:
    """One analysis file (`write_analysis`); a missing or malformed file is one line."""
    file = Path(path)
    if not file.is_file():
        raise InputError(f"analysis file not found: {file}")
    try:
        handle = h5py.File(file, "r")
    except OSError as exc:
        raise InputError(f"cannot read {file}: not a valid HDF5 file ({exc})") from None
    with handle as h5:
        info = _check_meta(dict(h5.attrs), str(file))
        try:
            benchmarks = json.loads(str(h5.attrs.get("benchmarks", "")))
        except json.JSONDecodeError:
            benchmarks = None
        if not isinstance(benchmarks, list):
            raise InputError(f"{file}: attribute 'benchmarks' is not a JSON list")
        if "labels" not in h5:
            raise InputError(f"{file}: no dataset 'labels'")
        y = np.asarray(h5["labels"][()])
        feats = {}
        for name in (CLEAN, *benchmarks):
            key = name if name == CLEAN else f"{BENCH_GROUP}/{name}"
            if key not in h5:
                raise InputError(f"{file}: benchmark {name!r} listed but group {key!r} is missing")
            group = h5[key]
            feats[name] = {}
            for part in (*FEATURES, "predictions"):
                if part not in group:
                    raise InputError(f"{file}: group {key!r} has no dataset {part!r}")
                values = np.asarray(group[part][()])
                if values.shape != y.shape:
                    raise InputError(
                        f"{file}: {key}/{part} has shape {values.shape}, labels {y.shape}"
                    )
                feats[name][part] = values
    return Analysis(
        path=file, benchmarks=tuple(str(b) for b in benchmarks), labels=y, features=feats, **info
    )
