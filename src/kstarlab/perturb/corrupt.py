"""The 19 ImageNet-C corruptions (Hendrycks & Dietterich), via ``imagecorruptions-imaug``.

The package (imported as ``imagecorruptions``) works on uint8 H×W×C images of at least
32×32 pixels and draws its randomness from numpy's global generator (plus explicit seeds
for ``glass_blur`` and ``impulse_noise``). Each sample is corrupted alone, with numpy seeded
from that sample's seed and the caller's generator state restored afterwards.
"""

from __future__ import annotations

import numpy as np
import torch

from kstarlab.errors import InputError

MIN_SIZE = 32
_SEEDED = ("glass_blur", "impulse_noise")  # functions that take a seed argument


def corrupt(
    images: torch.Tensor, name: str, severity: int, seeds: np.ndarray, label: str = "corrupt"
) -> torch.Tensor:
    """Corrupt every image with ``name`` at ``severity`` (1–5); returns float [0, 1]."""
    from imagecorruptions import corrupt as ic_corrupt

    n, channels, height, width = images.shape
    if height < MIN_SIZE or width < MIN_SIZE:
        raise InputError(
            f"transform {label}: corruptions need images of at least {MIN_SIZE}×{MIN_SIZE} "
            f"pixels, got {height}×{width}"
        )
    if channels not in (1, 3):
        raise InputError(f"transform {label}: corruptions need 1 or 3 channels, got {channels}")
    pixels = (images.detach().cpu() * 255.0).round_().clamp_(0, 255).to(torch.uint8)
    pixels = pixels.permute(0, 2, 3, 1).numpy()
    out = np.empty((n, height, width, 3), dtype=np.uint8)
    saved = np.random.get_state()  # noqa: NPY002 - the package uses the legacy global RNG
    try:
        for row in range(n):
            seed = int(seeds[row]) & 0xFFFFFFFF
            np.random.seed(seed)  # noqa: NPY002
            kwargs = {"seed": seed} if name in _SEEDED else {}
            image = pixels[row] if channels == 3 else pixels[row, :, :, 0]
            out[row] = ic_corrupt(image, severity=severity, corruption_name=name, **kwargs)
    finally:
        np.random.set_state(saved)  # noqa: NPY002
    result = torch.from_numpy(out).permute(0, 3, 1, 2).to(images.dtype).div_(255.0)
    if channels == 1:
        result = result.mean(dim=1, keepdim=True)
    return result.contiguous().to(images.device)
