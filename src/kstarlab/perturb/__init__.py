"""Perturbations: crop, rotation, Gaussian noise, stylization, PGD and ImageNet-C corruptions.

Every transform is named by a string (see `kstarlab.perturb.spec`), acts on float
[0, 1] images (N, C, H, W) before the model's normalisation, works on batches, and draws
its randomness from (global seed, canonical transform name, sample index), so the result
does not depend on how samples are batched.

>>> from kstarlab.perturb import apply_transform
>>> noisy, info = apply_transform(images, "noise-0.1", seed=0, indices=range(len(images)))

`parse_transform` returns the object extraction calls once per batch
(``transform(images, labels=..., indices=..., model=...)``; ``summary()`` afterwards).
"""

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
