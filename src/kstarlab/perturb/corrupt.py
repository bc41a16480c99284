"""The 19 ImageNet-C corruptions (Hendrycks & Dietterich), via ``imagecorruptions-imaug``.

The package (imported as ``imagecorruptions``) works on uint8 H×W×C images of at least
32×32 pixels and draws its randomness from numpy's global generator (plus explicit seeds
for ``glass_blur`` and ``impulse_noise``). Each sample is corrupted alone, with numpy seeded
from that sample's seed and the caller's generator state restored afterwards.

``frost`` reads and resizes one of the package's six frost photographs on every call,
which costs more than a small model's forward pass; `_frost` is the package's function
with that decoded, resized photograph cached (same random draws, same bytes: tested).

The package is called image by image. A batched reimplementation of its arithmetic was
measured (docs/benchmarks.md, "Batched corruptions: removed") to save under 1% of the
default run, so the package's own code is the only one.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from kstarlab.errors import InputError
from kstarlab.extras import require

MIN_SIZE = 32
_SEEDED = ("glass_blur", "impulse_noise")  # functions that take a seed argument


def corrupt(
    images: torch.Tensor,
    name: str,
    severity: int,
    seeds: np.ndarray,
    label: str = "corrupt",
) -> torch.Tensor:
    """Corrupt every image with ``name`` at ``severity`` (1–5); returns float [0, 1]."""
    ic_corrupt = require("imagecorruptions").corrupt

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
    row_seeds = [int(seed) & 0xFFFFFFFF for seed in seeds[:n]]
    saved = np.random.get_state()  # noqa: NPY002 - the package uses the legacy global RNG
    try:
        out = np.empty((n, height, width, 3), dtype=np.uint8)
        for row, seed in enumerate(row_seeds):
            np.random.seed(seed)  # noqa: NPY002
            kwargs = {"seed": seed} if name in _SEEDED else {}
            image = pixels[row] if channels == 3 else np.repeat(pixels[row], 3, axis=2)
            if name == "frost":
                out[row] = np.uint8(_frost(image, severity))
            else:
                out[row] = ic_corrupt(image, severity=severity, corruption_name=name, **kwargs)
    finally:
        np.random.set_state(saved)  # noqa: NPY002
    result = torch.from_numpy(out).permute(0, 3, 1, 2).to(images.dtype).div_(255.0)
    if channels == 1:
        result = result.mean(dim=1, keepdim=True)
    return result.contiguous().to(images.device)


_FROST_FILES = (
    "frost1.png",
    "frost2.png",
    "frost3.png",
    "frost4.jpg",
    "frost5.jpg",
    "frost6.jpg",
)


@lru_cache(maxsize=32)
def _frost_layer(index: int, height: int, width: int) -> np.ndarray:
    """The package's frost photograph ``index``, rescaled as its ``frost`` does for h×w."""
    import importlib.resources

    import cv2

    ref = importlib.resources.files("imagecorruptions") / "frost" / _FROST_FILES[index]
    with importlib.resources.as_file(ref) as path:
        frost = cv2.imread(str(path))
    fh, fw = frost.shape[:2]
    if fh >= height and fw >= width:
        scale = 1.0
    elif fh < height and fw >= width:
        scale = height / fh
    elif fh >= height and fw < width:
        scale = width / fw
    else:
        scale = np.maximum(height / fh, width / fw)
    scale *= 1.1
    size = (int(np.ceil(fw * scale)), int(np.ceil(fh * scale)))
    layer = cv2.resize(frost, dsize=size, interpolation=cv2.INTER_CUBIC)
    layer.setflags(write=False)
    return layer


def _frost(x: np.ndarray, severity: int) -> np.ndarray:
    """``imagecorruptions.frost`` on an RGB uint8 image, with the photograph cached."""
    c = [(1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75)][severity - 1]
    index = np.random.randint(6)  # noqa: NPY002 - the package's draws, in its order
    height, width = x.shape[:2]
    layer = _frost_layer(index, height, width)
    x_start = np.random.randint(0, layer.shape[0] - height)  # noqa: NPY002
    y_start = np.random.randint(0, layer.shape[1] - width)  # noqa: NPY002
    crop = layer[x_start : x_start + height, y_start : y_start + width][..., [2, 1, 0]]
    return np.clip(c[0] * np.array(x) + c[1] * crop, 0, 255)
