"""A pruning study's benchmarks, and one model's geometry on them.

The corrupted benchmarks of a study are the evaluated images under every ``corrupt-*``
transform of the geometry section. They are made once per study (`write_benchmarks`),
with the same per-sample seeds as the geometry study's extractions, so every model of the
study (dense and pruned) is evaluated on the very same images, and the corruptions (CPU
work in numpy) are not repeated for each model. The file is HDF5, written and read in
batches, so memory stays bounded by a batch at any dataset size; its disk size is
(1 + benchmarks) × the images as float32 (106 MB for the digits' 540 test images and 16
benchmarks). `evaluate_model` gives the last-layer geometry (angle, length, margin) and
the predictions of one model, clean and on each benchmark.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from typing import Any

import h5py
import numpy as np
import torch
from tqdm.auto import tqdm

from kstarlab.errors import InputError
from kstarlab.geometry.features import (
    GeometricFeatures,
    geometric_features,
    head_inputs,
    linear_head,
)
from kstarlab.io import atomic_path
from kstarlab.pruning.analysis_files import CLEAN


def write_benchmarks(
    path: str | os.PathLike[str],
    images: Callable[[int, int], torch.Tensor],
    labels: Any,
    benchmarks: Sequence[str],
    *,
    seed: int = 0,
    batch_size: int = 256,
    progress: bool = False,
) -> None:
    """The clean images, their labels and every benchmark ``corrupt-<name>-<severity>``.

    ``images(lo, hi)`` returns the (hi - lo, C, H, W) [0, 1] images of samples lo..hi-1.
    """
    from kstarlab.perturb import apply_transform

    y = np.asarray(labels, dtype=np.int64)
    for name in benchmarks:
        if not str(name).startswith("corrupt-"):
            raise InputError(f"benchmark {name!r} is no corrupt-<name>-<severity> transform")
    n = len(y)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs["benchmarks"] = json.dumps(list(benchmarks))
        h5.attrs["seed"] = seed
        h5.create_dataset("labels", data=y, track_times=False)
        sets: dict[str, h5py.Dataset] = {}
        starts = range(0, n, batch_size)
        for lo in tqdm(starts, desc="benchmarks", disable=not progress):
            hi = min(lo + batch_size, n)
            x = images(lo, hi).float()
            versions = {CLEAN: x}
            for name in benchmarks:
                versions[name], _ = apply_transform(x, name, seed=seed, indices=range(lo, hi))
            for name, batch in versions.items():
                if name not in sets:
                    sets[name] = h5.create_dataset(
                        f"images/{name}",
                        shape=(n, *batch.shape[1:]),
                        dtype=np.float32,
                        chunks=(min(batch_size, n), *batch.shape[1:]),
                        track_times=False,
                    )
                sets[name][lo:hi] = batch.numpy()


def benchmark_names(path: str | os.PathLike[str]) -> list[str]:
    """``clean`` and the benchmarks of a `write_benchmarks` file, in order."""
    with h5py.File(path, "r") as h5:
        if "labels" not in h5 or "benchmarks" not in h5.attrs:
            raise InputError(f"{path}: not a benchmarks file (no labels or benchmark list)")
        return [CLEAN, *json.loads(str(h5.attrs["benchmarks"]))]


def read_labels(path: str | os.PathLike[str]) -> np.ndarray:
    with h5py.File(path, "r") as h5:
        return h5["labels"][()]


def read_images(
    path: str | os.PathLike[str], benchmark: str = CLEAN, lo: int = 0, hi: int | None = None
) -> torch.Tensor:
    """Images lo..hi-1 of one benchmark of a `write_benchmarks` file."""
    with h5py.File(path, "r") as h5:
        key = f"images/{benchmark}"
        if key not in h5:
            raise InputError(f"{path}: no benchmark {benchmark!r}")
        return torch.from_numpy(h5[key][lo:hi])


@torch.no_grad()
def evaluate_model(
    model: torch.nn.Module,
    path: str | os.PathLike[str],
    *,
    batch_size: int = 256,
    progress: bool = False,
) -> dict[str, GeometricFeatures]:
    """The last-layer geometry and predictions of ``model`` on every benchmark of a
    `write_benchmarks` file (``clean`` first), streamed in batches.

    ``model``'s 4-D weights are stored channels-last (in place): oneDNN's convolutions are
    about 1.3× faster so on the CPU, and the study evaluates every model many times.
    """
    model.to(memory_format=torch.channels_last)
    net = getattr(model, "net", model)
    name, weight, bias = linear_head(net)
    head = net.get_submodule(name) if name else net
    y = read_labels(path)
    out = {}
    with h5py.File(path, "r") as h5:
        for bench in tqdm(benchmark_names(path), desc="evaluate", disable=not progress):
            images = h5[f"images/{bench}"]
            xs = []
            for lo in range(0, len(y), batch_size):
                batch = torch.from_numpy(images[lo : lo + batch_size])
                xs.append(head_inputs(model, head, batch, batch_size)[0])
            out[bench] = geometric_features(
                np.concatenate(xs), weight, bias, y, layer=f"input of {name}", head=name
            )
    return out
