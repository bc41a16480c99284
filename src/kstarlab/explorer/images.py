"""Sample images for the explorer: many thumbnails packed into one PNG sprite sheet.

One PNG per image set (a benchmark, a dataset) compresses far better than one small PNG
per sample, and the page shows tile i by offsetting the sheet (CSS ``background-position``).
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any

import numpy as np

#: Thumbnail side in pixels (the digits are 32 px; larger images are downscaled).
THUMB = 32


def image_sheet(images: Any, thumb: int = THUMB) -> dict[str, Any]:
    """``images`` (N, C, H, W) in [0, 1] (C = 1 or 3) as one sprite sheet: a PNG data URI
    with N tiles of ``thumb`` px, row-major in ``cols`` columns, in the order given."""
    from PIL import Image

    stack = np.asarray(images, dtype=np.float32)
    if stack.ndim != 4 or stack.shape[1] not in (1, 3) or stack.shape[0] == 0:
        raise ValueError(f"images must be (N>0, C=1 or 3, H, W), got {stack.shape}")
    n = stack.shape[0]
    cols = max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    pixels = np.clip(np.rint(stack * 255.0), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
    mode = "L" if pixels.shape[3] == 1 else "RGB"
    if mode == "RGB" and np.all(pixels == pixels[..., :1]):
        mode, pixels = "L", pixels[..., :1]
    sheet = Image.new(mode, (cols * thumb, rows * thumb))
    for i in range(n):
        tile = Image.fromarray(pixels[i, :, :, 0] if mode == "L" else pixels[i], mode)
        if tile.size != (thumb, thumb):
            tile = tile.resize((thumb, thumb), Image.Resampling.BILINEAR)
        sheet.paste(tile, ((i % cols) * thumb, (i // cols) * thumb))
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG", optimize=True)
    uri = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return {"n": n, "cols": cols, "size": thumb, "uri": uri}
