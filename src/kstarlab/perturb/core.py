"""The transform object extraction calls, its configuration, and per-sample seeds."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch
from torch import nn

from kstarlab.errors import InputError
from kstarlab.perturb.spec import TransformSpec, parse_spec


@dataclass(frozen=True)
class PerturbConfig:
    """Settings a transform string does not carry.

        PGD: ``pgd_steps``, ``pgd_rel_stepsize`` (step = rel_stepsize·ε) and
        ``pgd_random_start``; ``pgd_chunk`` samples are attacked at a time (a fixed size
    keeps results independent of the batch size). AdaIN: the encoder (``vgg_normalised.pth``) and decoder
        (``decoder.pth``) weight files and a folder of style images.
    """

    pgd_steps: int = 10
    pgd_rel_stepsize: float = 0.25
    pgd_random_start: bool = True
    pgd_chunk: int = 32
    adain_encoder: str | None = None
    adain_decoder: str | None = None
    adain_styles: str | None = None

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None, source: str = "config") -> PerturbConfig:
        """Validate a mapping of the fields above (unknown keys are an error)."""
        if values is None:
            return cls()
        if not isinstance(values, Mapping):
            raise InputError(f"{source}: perturbation settings must be a mapping")
        allowed = [f.name for f in fields(cls)]
        for key in values:
            if key not in allowed:
                raise InputError(
                    f"{source}: unknown perturbation setting {key!r} (allowed: {', '.join(allowed)})"
                )
        config = cls(**{k: v for k, v in values.items()})
        config.validate(source)
        return config

    def validate(self, source: str = "config") -> None:
        steps = self.pgd_steps
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise InputError(f"{source}: pgd_steps must be a positive integer, got {steps!r}")
        chunk = self.pgd_chunk
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
            raise InputError(f"{source}: pgd_chunk must be a positive integer, got {chunk!r}")
        rel = self.pgd_rel_stepsize
        if isinstance(rel, bool) or not isinstance(rel, (int, float)) or not rel > 0:
            raise InputError(f"{source}: pgd_rel_stepsize must be a number > 0, got {rel!r}")
        if not isinstance(self.pgd_random_start, bool):
            raise InputError(f"{source}: pgd_random_start must be true or false")
        for key in ("adain_encoder", "adain_decoder", "adain_styles"):
            value = getattr(self, key)
            if value is not None and not isinstance(value, (str, os.PathLike)):
                raise InputError(f"{source}: {key} must be a path")


def as_config(config: PerturbConfig | Mapping[str, Any] | None) -> PerturbConfig:
    if isinstance(config, PerturbConfig):
        config.validate()
        return config
    return PerturbConfig.from_dict(config)


def sample_seeds(seed: int, name: str, indices: torch.Tensor | Sequence[int]) -> np.ndarray:
    """One 64-bit seed per sample from (global seed, canonical transform name, sample index)."""
    words = np.frombuffer(hashlib.sha256(name.encode()).digest()[:16], dtype="<u4").tolist()
    out = np.empty(len(indices), dtype=np.uint64)
    for row, index in enumerate(np.asarray(indices).tolist()):
        sequence = np.random.SeedSequence([seed, *words, index])
        out[row] = sequence.generate_state(1, np.uint64)[0]
    return out


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_images(images: Any, name: str) -> torch.Tensor:
    """``images`` must be a float tensor (N, C, H, W) with values in [0, 1]."""
    if not isinstance(images, torch.Tensor):
        raise InputError(f"transform {name}: images must be a torch tensor")
    if images.ndim != 4 or not images.is_floating_point():
        raise InputError(
            f"transform {name}: images must be float (N, C, H, W), got "
            f"{images.dtype} {tuple(images.shape)}"
        )
    if images.numel() and (images.min() < 0 or images.max() > 1):
        raise InputError(f"transform {name}: images must lie in [0, 1] (before normalisation)")
    return images


def check_indices(indices: Any, n: int, name: str) -> torch.Tensor:
    """Sample indices: a 1-D non-negative integer sequence of length ``n`` (default 0..n-1)."""
    if indices is None:
        return torch.arange(n)
    tensor = torch.as_tensor(np.asarray(indices) if not torch.is_tensor(indices) else indices)
    if tensor.ndim != 1 or tensor.numel() != n or tensor.is_floating_point():
        raise InputError(f"transform {name}: indices must be {n} integers, one per image")
    if n and int(tensor.min()) < 0:
        raise InputError(f"transform {name}: indices must be non-negative")
    return tensor.long().cpu()


@dataclass
class AtLoad:
    """A transform the dataset already applied while loading its images (see
    `Perturbation.bind`): the identity per batch, named and described like the original."""

    name: str
    params: dict[str, Any]
    needs_grad: bool = False

    def __call__(
        self,
        images: torch.Tensor,
        *,
        labels: torch.Tensor | None = None,
        indices: torch.Tensor | Sequence[int] | None = None,
        model: nn.Module | None = None,
    ) -> torch.Tensor:
        return images

    def summary(self) -> dict[str, Any]:
        return {}


class Perturbation:
    """A parsed transform bound to a seed and config: the object extraction calls per batch.

    ``__call__`` returns the perturbed images; ``apply`` also returns this batch's info
    (for PGD the attack success rate). ``summary()`` accumulates over every call since
    creation (or `reset`), which extraction writes to the HDF5 attributes.
    """

    def __init__(
        self,
        spec: str | TransformSpec,
        *,
        seed: int = 0,
        config: PerturbConfig | Mapping[str, Any] | None = None,
    ) -> None:
        self.spec = parse_spec(spec)
        self.seed = _check_seed(seed)
        self.config = as_config(config)
        self.name = self.spec.name
        self.needs_grad = self.spec.family == "pgd"
        self.params = self.spec.params_dict()
        if self.spec.family == "pgd":
            self.params.update(
                steps=self.config.pgd_steps,
                rel_stepsize=float(self.config.pgd_rel_stepsize),
                random_start=self.config.pgd_random_start,
                chunk=self.config.pgd_chunk,
                attack="kstarlab.perturb.pgd.linf_pgd (L-inf PGD as foolbox 3.3.4 LinfPGD)",
            )
        self._state: Any = None
        if self.spec.family == "style-adain":
            from kstarlab.perturb.style import AdaIN

            self._state = AdaIN.from_config(self.config)
            self.params.update(self._state.describe())
        self.reset()

    def __repr__(self) -> str:
        return f"Perturbation({self.name!r}, seed={self.seed})"

    def bind(self, data: Any) -> tuple[Any, Any]:
        """The transform and the dataset extraction runs on ``data`` (a `kstarlab.latents.datasets.ImageData`).

        The k* paper crops the raw image: "The input sample is center-cropped to a size in
        this transformation. The reduced image is then resized to the standard dimensions"
        (Tables IX–X: on ImageNet-1k, whose images are about 500×375, accuracy falls from
        76.15% to 67.77% at a 220 px crop; on 16-class-ImageNet, already 224×224, the
        220 px row is almost the clean one). So on a dataset that resizes or crops its
        images on load (an image folder), ``crop-<s>`` becomes that dataset with each
        decoded image center-cropped to s×s at its own resolution and resized to the
        dataset's output size, and nothing is left to do per batch. Every other transform,
        and a crop of in-memory images (the digits: the 32 px image is the raw image), is
        returned unchanged with ``data``.
        """
        if self.spec.family != "crop":
            return self, data
        raw = data.raw_center_crop(int(self.spec.params["size"]))
        if raw is None:
            return self, data
        return AtLoad(self.name, {**self.params, "applied_to": "raw image"}), raw

    def reset(self) -> None:
        """Forget the statistics accumulated by earlier calls."""
        self._attacked = 0
        self._successes = 0

    def summary(self) -> dict[str, Any]:
        """What the HDF5 attributes record after a run (PGD: attack success rate)."""
        if self.spec.family != "pgd":
            return {}
        rate = self._successes / self._attacked if self._attacked else float("nan")
        return {"attack_success_rate": rate, "attacked": self._attacked}

    def __call__(
        self,
        images: torch.Tensor,
        *,
        labels: torch.Tensor | None = None,
        indices: torch.Tensor | Sequence[int] | None = None,
        model: nn.Module | None = None,
    ) -> torch.Tensor:
        return self.apply(images, labels=labels, indices=indices, model=model)[0]

    def apply(
        self,
        images: torch.Tensor,
        *,
        labels: torch.Tensor | None = None,
        indices: torch.Tensor | Sequence[int] | None = None,
        model: nn.Module | None = None,
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """Perturb one batch; returns the images and this batch's info."""
        images = check_images(images, self.name)
        index = check_indices(indices, images.shape[0], self.name)
        family = self.spec.family
        p = self.spec.params
        if images.shape[0] == 0:
            return images.clone(), {}
        if family == "clean":
            return images.clone(), {}
        if family in ("crop", "rot"):
            from kstarlab.perturb import geometric

            if family == "crop":
                return geometric.center_crop(images, p["size"], self.name), {}
            return geometric.rotate(images, p["degrees"]), {}
        seeds = sample_seeds(self.seed, self.name, index)
        if family == "noise":
            from kstarlab.perturb.noise import gaussian_noise

            return gaussian_noise(images, p["sigma"], seeds), {}
        if family == "corrupt":
            from kstarlab.perturb.corrupt import corrupt

            return corrupt(images, p["corruption"], p["severity"], seeds, self.name), {}
        if family == "style-fda":
            from kstarlab.perturb.style import fda_transfer

            return fda_transfer(images, p["image"], p["beta"], seeds), {}
        if family == "style-adain":
            return self._state.stylize(images, p["alpha"], seeds), {}
        if family == "pgd":
            from kstarlab.perturb.pgd import pgd_attack

            config = self.config
            adversarials, success = pgd_attack(
                model,
                images,
                labels,
                p["epsilon"],
                steps=config.pgd_steps,
                rel_stepsize=float(config.pgd_rel_stepsize),
                random_start=config.pgd_random_start,
                seeds=seeds,
                chunk=config.pgd_chunk,
                name=self.name,
            )
            self._attacked += int(success.numel())
            self._successes += int(success.sum())
            rate = float(success.float().mean())
            return adversarials, {"attack_success_rate": rate, "success": success}
        raise AssertionError(f"unhandled family {family}")  # pragma: no cover


def parse_transform(
    spec: str | TransformSpec,
    *,
    seed: int = 0,
    config: PerturbConfig | Mapping[str, Any] | None = None,
) -> Perturbation:
    """The `Perturbation` for a transform string (what extraction's ``transform=`` takes)."""
    return Perturbation(spec, seed=seed, config=config)


def apply_transform(
    images: torch.Tensor,
    spec: str | TransformSpec | Perturbation,
    *,
    seed: int = 0,
    indices: torch.Tensor | Sequence[int] | None = None,
    model: nn.Module | None = None,
    labels: torch.Tensor | None = None,
    config: PerturbConfig | Mapping[str, Any] | None = None,
) -> tuple[torch.Tensor, dict[str, Any]]:
    """Perturb ``images`` (float [0, 1], (N, 3, H, W)); returns (images, info).

    ``indices`` are the samples' dataset indices (default 0..N-1): with ``seed`` they fix
    each sample's randomness, so results do not depend on batching. PGD needs ``model``
    (taking [0, 1] images) and ``labels``; ``info["attack_success_rate"]`` is its rate.
    """
    transform = (
        spec if isinstance(spec, Perturbation) else Perturbation(spec, seed=seed, config=config)
    )
    with torch.enable_grad() if transform.needs_grad else torch.no_grad():
        out, info = transform.apply(images, labels=labels, indices=indices, model=model)
    return out.detach(), info
