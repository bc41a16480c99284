"""The geometric analysis of one model from extractions on disk (``kstarlab geometry``).

The workflow's geometry job extracts the corrupted latents itself when needed
(`kstarlab.workflow.jobs.geometry`); here they are given as files, each naming its transform in its
``transform`` attribute, as ``kstarlab extract`` writes them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from kstarlab.errors import InputError

# The files of one model's analysis, in its output folder (as the workflow's per model).
MODEL_FILES = (("features", ".h5"), ("samples", ".csv"), ("pruning", ".csv"))


@dataclass
class ModelGeometry:
    """What `analyse_extractions` wrote and its correlation table."""

    correlations: pd.DataFrame  # geometric features against corruption and pruning robustness
    outputs: dict[str, Path]  # features, samples and pruning
    n: int  # samples


def corrupted_transforms(paths: Sequence[str | os.PathLike[str]]) -> dict[str, str]:
    """``{transform: path}`` of corrupted extractions, the transform read from each file's
    ``transform`` attribute (the file's stem without one)."""
    import h5py

    out = {}
    for path in paths:
        try:
            with h5py.File(path, "r") as h5:
                transform = str(h5.attrs.get("transform", Path(path).stem))
        except OSError as exc:
            raise InputError(f"cannot read {path}: not a valid HDF5 file ({exc})") from None
        out[transform] = str(path)
    return out


def analyse_extractions(
    model: Any,
    clean: str | os.PathLike[str],
    corrupted: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    layer: str = "avgpool",
    sparsities: Sequence[float] = tuple(0.1 * i for i in range(1, 10)),
    split: str = "test",
    split_seed: int = 0,
) -> ModelGeometry:
    """Features, corruption and pruning robustness of ``model`` (a `LoadedModel`) on the
    digits ``split`` (`analyse_model`), written to ``out_dir``, and their correlations.

    ``clean`` and ``corrupted`` are extractions of ``layer`` (the classifier's input) by
    this model on those digits; pruned models are re-run on the images.
    """
    from kstarlab.geometry.analysis import analyse_model
    from kstarlab.geometry.correlations import correlation_table
    from kstarlab.latents.datasets import load_digits

    paths = corrupted_transforms(corrupted)
    images = load_digits(split=split, seed=split_seed).dataset.images
    outputs = {name: Path(out_dir) / f"{name}{ext}" for name, ext in MODEL_FILES}
    analyse_model(
        model,
        images,
        clean,
        paths,
        layer,
        sparsities,
        outputs["features"],
        outputs["samples"],
        outputs["pruning"],
    )
    samples = pd.read_csv(outputs["samples"])
    correlations = correlation_table(
        model.name,
        samples,
        {
            "corruption": samples["corruption_robustness"],
            "pruning": samples["prune_correct_fraction"],
        },
    )
    return ModelGeometry(correlations=correlations, outputs=outputs, n=len(samples))
