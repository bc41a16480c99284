"""Sample images for the explorer: many thumbnails packed into one PNG sprite sheet.

One sheet per image set (a benchmark, a dataset) compresses far better than one small
image per sample, and the page shows tile i by offsetting the sheet (CSS
``background-position``). Grey sheets (the digits: sharp, few levels) are lossless PNG;
colour ones (photographs and their corruptions) a WebP of quality `WEBP_QUALITY`, about an
eighth of their PNG at 32 px (docs/benchmarks.md, Explorer page), when Pillow has WebP and
it is the smaller.
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any

import numpy as np

#: Thumbnail side in pixels (the digits are 32 px; larger images are downscaled).
THUMB = 32
#: Quality of the lossy WebP of colour sheets (cwebp's default).
WEBP_QUALITY = 75
#: WebP's largest side in pixels (a larger sheet stays PNG).
WEBP_MAX_SIDE = 16383


def image_sheet(images: Any, thumb: int = THUMB) -> dict[str, Any]:
    """``images`` (N, C, H, W) in [0, 1] (C = 1 or 3) as one sprite sheet: an image data URI
    (PNG or WebP, see the module) with N tiles of ``thumb`` px, row-major in ``cols``
    columns, in the order given."""
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
    kind, data = _encode(sheet)
    uri = f"data:image/{kind};base64," + base64.b64encode(data).decode("ascii")
    return {"n": n, "cols": cols, "size": thumb, "uri": uri}


def _encode(sheet: Any) -> tuple[str, bytes]:
    """The sheet as PNG, or for a colour sheet as WebP when that is smaller."""
    from PIL import features

    png = io.BytesIO()
    sheet.save(png, format="PNG", optimize=True)
    best = ("png", png.getvalue())
    if sheet.mode == "RGB" and max(sheet.size) <= WEBP_MAX_SIDE and features.check("webp"):
        webp = io.BytesIO()
        sheet.save(webp, format="WEBP", quality=WEBP_QUALITY, method=4)
        if webp.tell() < len(best[1]):
            best = ("webp", webp.getvalue())
    return best
