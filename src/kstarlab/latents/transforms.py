"""The transform interface of extraction: what happens to [0, 1] images before the model.

A transform is named by a string: ``clean`` (the identity) here; the perturbations module
(``kstarlab.perturb``, when present) parses the others through its
``parse_transform(spec, seed=...)``. Extraction calls a transform once per batch with the
labels, the dataset indices of the samples and the model, so randomness can be drawn from
(seed, transform, sample index) and not depend on the batch size, and attacks can use the
model's gradients (``needs_grad``). The model is the dataset's decision
(`kstarlab.models.classmap.decision_model`): on a class-mapped dataset its outputs are the
categories, in the labels' space. ``summary()`` returns what the HDF5 attributes should
record after the run (for example an attack's success rate). A transform may also have
``bind(data)``, returning the transform and dataset to run instead (`bind_transform`):
``crop-<s>`` on an image folder moves into the images' loading, to act on the raw image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import torch
from torch import nn

from kstarlab.errors import InputError

if TYPE_CHECKING:
    from kstarlab.latents.datasets import ImageData


@runtime_checkable
class Transform(Protocol):
    """A named, batched, deterministic image transform acting in pixel space [0, 1]."""

    name: str
    params: dict[str, Any]
    needs_grad: bool

    def __call__(
        self,
        images: torch.Tensor,
        *,
        labels: torch.Tensor,
        indices: torch.Tensor,
        model: nn.Module,
    ) -> torch.Tensor: ...

    def summary(self) -> dict[str, Any]: ...


@dataclass
class Clean:
    """The identity: images reach the model unchanged."""

    name: str = "clean"
    params: dict[str, Any] = field(default_factory=dict)
    needs_grad: bool = False

    def __call__(
        self,
        images: torch.Tensor,
        *,
        labels: torch.Tensor,
        indices: torch.Tensor,
        model: nn.Module,
    ) -> torch.Tensor:
        return images

    def summary(self) -> dict[str, Any]:
        return {}


def resolve_transform(spec: str | Transform, *, seed: int = 0) -> Transform:
    """The transform named ``spec`` (a `Transform` object is returned as is)."""
    if not isinstance(spec, str):
        if not isinstance(spec, Transform):
            raise InputError(f"not a transform: {spec!r}")
        return spec
    if spec == "clean":
        return Clean()
    try:
        from kstarlab import perturb  # type: ignore[attr-defined]
    except ModuleNotFoundError as exc:
        if exc.name != "kstarlab.perturb":
            raise
        raise InputError(f"unknown transform {spec!r}; available: clean") from None
    return perturb.parse_transform(spec, seed=seed)


def bind_transform(tf: Transform, data: ImageData) -> tuple[Transform, ImageData]:
    """The transform and dataset to run: ``tf.bind(data)`` when the transform has it (a
    crop of an image folder acts on the raw image at load time), else both unchanged."""
    bind = getattr(tf, "bind", None)
    if bind is None:
        return tf, data
    bound, bound_data = bind(data)
    if not isinstance(bound, Transform):
        raise InputError(f"transform {tf.name!r}: bind() must return a transform")
    if len(bound_data) != len(data):
        raise InputError(f"transform {tf.name!r}: bind() changed the number of samples")
    return bound, bound_data
