"""Additive Gaussian noise with per-sample seeds."""

from __future__ import annotations

import numpy as np
import torch


def gaussian_noise(images: torch.Tensor, sigma: float, seeds: np.ndarray) -> torch.Tensor:
    """``x + sigma·N(0, 1)`` clipped to [0, 1]; sample i's noise comes from ``seeds[i]``."""
    if sigma == 0:
        return images.clone()
    shape = tuple(images.shape[1:])
    generator = torch.Generator()
    noise = torch.empty(images.shape, dtype=images.dtype)
    for row, seed in enumerate(seeds.tolist()):
        generator.manual_seed(int(seed))
        noise[row] = torch.randn(shape, generator=generator, dtype=images.dtype)
    out = images + float(sigma) * noise.to(images.device)
    return out.clamp_(0.0, 1.0)
