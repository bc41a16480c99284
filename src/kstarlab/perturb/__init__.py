"""Perturbations: crop, rotation, Gaussian noise, stylization, PGD and ImageNet-C corruptions.

Every transform is named by a string (see `kstarlab.perturb.spec`), acts on float
[0, 1] images (N, C, H, W) before the model's normalisation, works on batches, and draws
its randomness from (global seed, canonical transform name, sample index), so the result
does not depend on how samples are batched.

>>> from kstarlab.perturb import apply_transform
>>> noisy, info = apply_transform(images, "noise-0.1", seed=0, indices=range(len(images)))

`parse_transform` returns the object extraction calls once per batch
(``transform(images, labels=..., indices=..., model=...)``; ``summary()`` afterwards).

The names are imported on first use (PEP 562): importing `kstarlab.perturb.spec` (the
torch-free grammar the config check reads) loads neither torch nor the transforms, and a
job's code set holds only the perturbation modules it runs (`kstarlab.workflow.codesets`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kstarlab.perturb.core import (
        Perturbation,
        PerturbConfig,
        apply_transform,
        parse_transform,
        sample_seeds,
    )
    from kstarlab.perturb.spec import (
        CORRUPTIONS,
        FAMILIES,
        FDA_IMAGES,
        GRAMMAR,
        TransformSpec,
        paper_transforms,
        parse_spec,
    )

_LAZY = {
    "Perturbation": "kstarlab.perturb.core",
    "PerturbConfig": "kstarlab.perturb.core",
    "apply_transform": "kstarlab.perturb.core",
    "parse_transform": "kstarlab.perturb.core",
    "sample_seeds": "kstarlab.perturb.core",
    "CORRUPTIONS": "kstarlab.perturb.spec",
    "FAMILIES": "kstarlab.perturb.spec",
    "FDA_IMAGES": "kstarlab.perturb.spec",
    "GRAMMAR": "kstarlab.perturb.spec",
    "TransformSpec": "kstarlab.perturb.spec",
    "paper_transforms": "kstarlab.perturb.spec",
    "parse_spec": "kstarlab.perturb.spec",
}
__all__ = [
    "CORRUPTIONS",
    "FAMILIES",
    "FDA_IMAGES",
    "GRAMMAR",
    "PerturbConfig",
    "Perturbation",
    "TransformSpec",
    "apply_transform",
    "paper_transforms",
    "parse_spec",
    "parse_transform",
    "sample_seeds",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kstarlab.perturb' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
