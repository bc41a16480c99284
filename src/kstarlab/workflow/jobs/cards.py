"""Cards: JSON records of the evaluated dataset and of a pretrained model's weights."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from kstarlab.io import atomic_write
from kstarlab.workflow.jobs.inputs import load_images
from kstarlab.workflow.jobs.runtime import log


def dataset_card(dataset: Mapping[str, Any], out: str, prepared: str | None = None) -> None:
    """A JSON description of the evaluated dataset: name, size, classes, parameters
    (``prepared``: the data rule's digits file)."""
    data = load_images(dataset, prepared)
    card = {
        "name": data.name,
        "n_samples": len(data),
        "class_names": list(data.class_names),
        "params": data.params,
        "counts": np.bincount(data.labels, minlength=len(data.class_names)).tolist(),
    }
    with atomic_write(out) as fh:
        json.dump(card, fh, indent=2, sort_keys=True, default=str)
        fh.write("\n")


def weights_file(entry: Any) -> Path:
    """The file a pretrained model's weights are read from: the configured path, or for a
    torchvision weights enum its file in the local torch hub cache (never downloaded).

    ``entry`` is a `kstarlab.models.registry.ModelEntry`; the file is resolved exactly as
    `load_model` resolves it, and a missing one is the loader's one-line `InputError`.
    """
    from kstarlab.errors import InputError
    from kstarlab.models.pretrained import (
        cached_weights_file,
        looks_like_weights_enum,
        torchvision_names,
        weights_enum,
    )
    from kstarlab.models.zoo import ZOO
    from kstarlab.names import is_no_weights, looks_like_weights_name

    spec = entry.weights
    if is_no_weights(spec):
        raise InputError(f"model {entry.name!r} has no weights file (random initialisation)")
    if (
        entry.arch not in ZOO
        and entry.arch in torchvision_names()
        and (looks_like_weights_enum(entry.arch, spec) or looks_like_weights_name(spec))
    ):
        return cached_weights_file(weights_enum(entry.arch, spec))
    path = Path(spec)
    if not path.is_file():
        raise InputError(f"weights file not found: {path}")
    return path


def weights_card(model_name: str, model: Mapping[str, Any], out: str) -> None:
    """A JSON record of a pretrained model's weights: the entry's name, arch, weights (as
    configured), trusted and num_classes (when set), and the file they resolve to with its
    size and SHA-256. The file is hashed, not loaded, so the card is cheap; its bytes depend
    only on the entry and the file (sorted keys, no timestamps)."""
    from kstarlab.models.checkpoints import file_sha256
    from kstarlab.models.registry import ModelEntry

    entry = ModelEntry.from_dict(model_name, dict(model))
    path = weights_file(entry)
    card: dict[str, Any] = {
        "name": entry.name,
        "arch": entry.arch,
        "weights": entry.weights,
        "file": str(path),
        "size_bytes": path.stat().st_size,
        "sha256": file_sha256(path),
        "trusted": entry.trusted,
    }
    if entry.num_classes is not None:
        card["num_classes"] = entry.num_classes
    with atomic_write(out) as fh:
        json.dump(card, fh, indent=2, sort_keys=True)
        fh.write("\n")
    log.info(
        "weights of %s: %s (%d bytes, sha256 %s)",
        model_name,
        path,
        card["size_bytes"],
        card["sha256"],
    )
