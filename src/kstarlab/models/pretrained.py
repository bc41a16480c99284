"""torchvision classification architectures, with weights from local files only.

Weights named by torchvision's enum (``DEFAULT``, ``IMAGENET1K_V2`` or
``ResNet50_Weights.IMAGENET1K_V2``) are read from the local torch hub cache
(``$TORCH_HOME/hub/checkpoints``). kstarlab never downloads: a missing file is an error
that says exactly where to put it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torchvision
from torch import nn
from torchvision.models import WeightsEnum

from kstarlab.errors import InputError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Architectures whose pretrained weights expect torchvision's own input re-normalisation.
_TRANSFORM_INPUT = ("googlenet", "inception_v3")


@dataclass(frozen=True)
class Preprocessing:
    """What the model expects: per-channel normalisation (applied inside the wrapper) and
    the resize / center-crop sizes its weights were made for (``None``: not specified)."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    crop: int | None = None
    resize: int | None = None


@functools.cache
def torchvision_names() -> tuple[str, ...]:
    """Every torchvision classification model name."""
    return tuple(torchvision.models.list_models(module=torchvision.models))


def build_torchvision(arch: str, num_classes: int = 1000, pretrained: bool = False) -> nn.Module:
    """A randomly initialised torchvision classifier (weights are loaded separately)."""
    kwargs: dict[str, Any] = {"num_classes": num_classes}
    if arch in _TRANSFORM_INPUT:
        kwargs.update(aux_logits=False, init_weights=True, transform_input=pretrained)
    try:
        return torchvision.models.get_model(arch, weights=None, **kwargs)
    except (TypeError, ValueError) as exc:
        raise InputError(f"cannot build torchvision model {arch!r}: {exc}") from None


def weights_enum(arch: str, spec: str) -> WeightsEnum:
    """The weights enum member named ``spec`` (``DEFAULT``, ``IMAGENET1K_V1``, ``X_Weights.Y``)."""
    enum = torchvision.models.get_model_weights(arch)
    member = spec.split(".", 1)[1] if spec.startswith(f"{enum.__name__}.") else spec
    if member == "DEFAULT":
        return enum.DEFAULT  # type: ignore[attr-defined]
    try:
        return enum[member]
    except KeyError:
        names = ", ".join(["DEFAULT", *(w.name for w in enum)])
        raise InputError(
            f"unknown weights {spec!r} for {arch}; available: {names}, a file path, or none"
        ) from None


def looks_like_weights_enum(arch: str, spec: str) -> bool:
    """Whether ``spec`` names a torchvision weights enum member of ``arch`` (not a file)."""
    enum = torchvision.models.get_model_weights(arch)
    member = spec.split(".", 1)[1] if spec.startswith(f"{enum.__name__}.") else spec
    return member == "DEFAULT" or member in enum.__members__


def hub_file(weights: WeightsEnum) -> Path:
    """Where torch hub keeps ``weights``: ``$TORCH_HOME/hub/checkpoints/<file name>``."""
    name = weights.url.rsplit("/", 1)[-1]
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def cached_weights_file(weights: WeightsEnum) -> Path:
    """The local file of ``weights``, or an error saying where to put it (never downloads)."""
    path = hub_file(weights)
    if not path.is_file():
        raise InputError(
            f"weights {type(weights).__name__}.{weights.name} are not in the local torch hub "
            f"cache: put {path.name} (from {weights.url}) at {path}, or set TORCH_HOME, or "
            "pass a file path as weights; kstarlab never downloads"
        )
    return path


def preprocessing_for(arch: str, weights: WeightsEnum | None) -> Preprocessing:
    """Normalisation and input size from the weights' transforms (the DEFAULT weights' when
    none are given), falling back to ImageNet statistics."""
    if weights is None:
        try:
            weights = torchvision.models.get_model_weights(arch).DEFAULT  # type: ignore[attr-defined]
        except (ValueError, AttributeError):
            weights = None
    if weights is None:
        return Preprocessing(IMAGENET_MEAN, IMAGENET_STD, None, None)
    preset = weights.transforms()
    crop = getattr(preset, "crop_size", [None])[0]
    resize = getattr(preset, "resize_size", [None])[0]
    mean = tuple(float(v) for v in getattr(preset, "mean", IMAGENET_MEAN))
    std = tuple(float(v) for v in getattr(preset, "std", IMAGENET_STD))
    return Preprocessing(mean, std, crop, resize)
