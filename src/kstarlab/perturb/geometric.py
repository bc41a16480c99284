"""Geometric transforms: center crop resized back, and rotation about the centre."""

from __future__ import annotations

import torch
from torchvision.transforms.v2 import functional as F

from kstarlab.errors import InputError


def center_crop(images: torch.Tensor, size: int, name: str = "crop") -> torch.Tensor:
    """Center-crop ``size``×``size`` pixels, then resize back (bilinear, antialiased)."""
    height, width = images.shape[-2:]
    if size > min(height, width):
        raise InputError(
            f"transform {name}: crop size {size} is larger than the {height}×{width} images"
        )
    if size == height == width:
        return images.clone()
    cropped = F.center_crop(images, [size, size])
    out = F.resize(
        cropped, [height, width], interpolation=F.InterpolationMode.BILINEAR, antialias=True
    )
    return out.clamp_(0.0, 1.0)


def rotate(images: torch.Tensor, degrees: float) -> torch.Tensor:
    """Rotate counter-clockwise by ``degrees`` about the centre; same size, zero fill.

    Multiples of 360° return the images unchanged (bit for bit).
    """
    angle = float(degrees) % 360.0
    if angle == 0.0:
        return images.clone()
    out = F.rotate(
        images, angle, interpolation=F.InterpolationMode.BILINEAR, expand=False, fill=0.0
    )
    return out.clamp_(0.0, 1.0)
