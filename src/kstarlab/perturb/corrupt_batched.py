"""Batched reimplementations of the slow ``imagecorruptions`` corruptions.

On 32×32 images the package's cost is per-image overhead (a dozen scipy zooms per image
in ``zoom_blur``, ``np.roll`` loops in ``motion_blur``, skimage colour conversions, one
small filter call per channel), not arithmetic. Each function here takes a whole batch
(N×H×W×3 uint8) and the per-sample seeds, makes for every sample exactly the package's
random draws from numpy's legacy global generator (seeded with that sample's seed, same
calls, same order, same shapes), then does the deterministic arithmetic once for the
batch with the package's dtypes (float64 where it computes in float64) and operation
order. The caller saves and restores the global generator state.

All 15 are byte-equal to the package (tested on every severity on digits, random 32×32
and 48×40 colour images; an ad-hoc sweep over 9 shapes from 32×33 to 64×48, colour and
grey, 5 severities, 1,350 cases, found no differing byte): ``shot_noise``, ``gaussian_blur``,
``glass_blur``, ``defocus_blur``, ``motion_blur``, ``zoom_blur``, ``snow``, ``fog``,
``brightness``, ``saturate``, ``elastic_transform``, ``spatter``, ``jpeg_compression``,
``gaussian_noise``, ``speckle_noise``.
No tolerance is needed because nothing is approximated:

- bilinear zooms and ``map_coordinates`` follow scipy's C code: weights ``1 - t`` and
  ``1 - (1 - t)``, corners summed as ``value·w_y·w_x`` in scipy's order, a zero where
  rounding puts a zoom coordinate past the last pixel (mode ``constant``), reflected
  coordinates and taps for ``reflect``; taps of weight 0 or 1 on the channel axis change
  nothing, so planes give the package's values;
- Gaussian filters are the same scipy separable passes, run along the image axes of the
  batch; ``cvtColor`` runs on the stacked batch (per pixel), ``filter2D`` per image and
  channel (its large-kernel sums depend on the image size);
- ``glass_blur``'s numba pixel shuffle is emulated: numba seeds its MT19937 as numpy's
  legacy ``seed`` does, and its ``randint`` keeps the low bits of each 32-bit output
  with rejection; the shuffle is a sequence of pixel copies, replayed for all images at
  once on an index table (no numba compilation, no per-image call);
- ``jpeg_compression`` keeps PIL's encode/decode per image, without the wrapper's checks;
  ``shot_noise`` and ``spatter`` keep their per-image Poisson draws and OpenCV edge chain
  (``shot_noise`` is bound by those legacy Poisson draws: about 0.11 ms per 32×32 image).

Grey batches (three equal channels, such as digits) run the channel-wise corruptions on
one channel (`CHANNELWISE`): the package treats channels alike and independently there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from io import BytesIO

import numpy as np

from kstarlab.extras import require

# The package draws from numpy's legacy global generator: so must we (same streams).
# ruff: noqa: NPY002

Batched = Callable[[np.ndarray, int, Sequence[int]], np.ndarray]


def _to_uint8(x: np.ndarray) -> np.ndarray:
    """The package's final ``np.uint8(x)`` (truncation)."""
    return np.asarray(x).astype(np.uint8)


# --------------------------------------------------------------------------- helpers


def _gaussian(
    x: np.ndarray, sigma: Sequence[float], mode: str, truncate: float = 4.0
) -> np.ndarray:
    """skimage ``gaussian`` (per image) as one scipy call over the batch (axis 0 sigma 0)."""
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(x, sigma=[0.0, *sigma], mode=mode, truncate=truncate)


def _zoom_axis(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scipy ``zoom(order=1)`` along one axis: source indices and weights, scipy's formula.

    scipy's default mode ``constant`` gives 0 where rounding puts the coordinate past the
    last pixel (``(n_out-1)·((n_in-1)/(n_out-1))`` can exceed ``n_in-1``): weights 0 there.
    """
    ratio = (n_in - 1) / (n_out - 1) if n_out > 1 else 1.0
    cc = np.arange(n_out, dtype=np.float64) * ratio
    start = np.floor(cc)
    w0 = 1.0 - (cc - start)
    w1 = 1.0 - w0  # scipy: the last weight is 1 minus the others
    outside = cc > n_in - 1
    w0[outside] = 0.0
    w1[outside] = 0.0
    i0 = np.minimum(start.astype(np.intp), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, w0, w1


def _clipped_zoom(x: np.ndarray, zoom: float, keep: tuple[int, int] | None = None) -> np.ndarray:
    """The package's ``clipped_zoom`` on planes (…×H×W): centre crop, bilinear zoom.

    Computed in float64 with scipy's ``zoom(order=1)`` formula and returned in float64
    (callers cast as scipy's output would be). The package zooms H×W×C images with zoom
    1 on the channel axis, whose taps have weight 1 and 0, so planes give the same values.
    ``keep`` = (rows, columns) computes only the top-left part that the caller keeps.
    """
    height, width = x.shape[-2:]
    ch0 = int(np.ceil(height / float(zoom)))
    top0 = (height - ch0) // 2
    ch1 = int(np.ceil(width / float(zoom)))
    top1 = (width - ch1) // 2
    out0, out1 = round(float(ch0 * zoom)), round(float(ch1 * zoom))  # scipy: int(round(.))
    y0, y1, wy0, wy1 = _zoom_axis(ch0, out0)
    x0, x1, wx0, wx1 = _zoom_axis(ch1, out1)
    if keep is not None:
        y0, y1, wy0, wy1 = y0[: keep[0]], y1[: keep[0]], wy0[: keep[0]], wy1[: keep[0]]
        x0, x1, wx0, wx1 = x0[: keep[1]], x1[: keep[1]], wx0[: keep[1]], wx1[: keep[1]]
    y0, y1, x0, x1 = y0 + top0, y1 + top0, x0 + top1, x1 + top1  # crop = index offset
    # scipy: sum over corners (y0x0, y0x1, y1x0, y1x1) of value·w_y·w_x, in that order
    top = np.multiply(np.take(x, y0, axis=-2), wy0[:, None])
    bottom = np.multiply(np.take(x, y1, axis=-2), wy1[:, None])
    out = np.take(top, x0, axis=-1)
    out *= wx0
    term = np.take(top, x1, axis=-1)
    term *= wx1
    out += term
    np.take(bottom, x0, axis=-1, out=term)
    term *= wx0
    out += term
    np.take(bottom, x1, axis=-1, out=term)
    term *= wx1
    out += term
    return out


def _motion_blur(x: np.ndarray, radius: int, sigma: float, angles: np.ndarray) -> np.ndarray:
    """The package's ``_motion_blur`` on a batch N×H×W[×C], one angle per image (float64).

    ``shift`` there is ``np.roll`` plus edge replication, i.e. a gather at clipped indices:
    here a window of the edge-padded batch. The sum runs over the kernel taps in the
    package's order; an image whose shift left the frame stops there (weight 0 after).
    """
    getMotionBlurKernel = require("imagecorruptions.corruptions").getMotionBlurKernel
    from numpy.lib.stride_tricks import sliding_window_view

    width = radius * 2 + 1
    kernel = getMotionBlurKernel(width, sigma)
    n, height, wide = x.shape[:3]
    channels = x.shape[3] if x.ndim == 4 else 1
    dys = np.zeros((n, width), dtype=np.intp)
    dxs = np.zeros((n, width), dtype=np.intp)
    weights = np.zeros((n, width), dtype=np.float64)
    for row, angle in enumerate(angles):
        p0 = width * np.sin(np.deg2rad(angle))
        p1 = width * np.cos(np.deg2rad(angle))
        hypot = math.hypot(p0, p1)
        for i in range(width):
            dy = -math.ceil(((i * p0) / hypot) - 0.5)
            dx = -math.ceil(((i * p1) / hypot) - 0.5)
            if abs(dy) >= height or abs(dx) >= wide:
                break
            dys[row, i], dxs[row, i], weights[row, i] = dy, dx, kernel[i]
    # one plane per (image, channel), each with its image's shifts
    planes = x.reshape(n, height, wide, channels).transpose(0, 3, 1, 2)
    planes = planes.reshape(n * channels, height, wide)
    dys, dxs, weights = (np.repeat(a, channels, axis=0) for a in (dys, dxs, weights))
    pad_y, pad_x = height - 1, wide - 1
    padded = np.pad(planes, [(0, 0), (pad_y, pad_y), (pad_x, pad_x)], mode="edge")
    windows = sliding_window_view(padded, (height, wide), axis=(1, 2))
    rows = np.arange(n * channels)
    blurred = np.zeros(planes.shape, dtype=np.float64)
    term = np.empty_like(blurred)
    for i in np.flatnonzero(weights.any(axis=0)):
        shifted = windows[rows, pad_y - dys[:, i], pad_x - dxs[:, i]]
        np.multiply(weights[:, i, None, None], shifted, out=term)
        blurred += term
    blurred = blurred.reshape(n, channels, height, wide).transpose(0, 2, 3, 1)
    return blurred.reshape(x.shape)


def _glass_shuffle(x: np.ndarray, c: tuple[float, int, int], seeds: Sequence[int]) -> None:
    """The package's numba ``_shuffle_pixels_njit_glass_blur`` for a batch, in place.

    That loop seeds numba's generator (MT19937, numpy's legacy seeding) with ``seed`` and,
    for every visited pixel in order, draws ``dx, dy = randint(-d, d, size=2)`` and sets
    ``x[h, w] = x[h + dy, w + dx]`` (its tuple "swap" of two views is a copy). Here the
    same 32-bit outputs come from numpy's legacy generator, turned into numba's bounded
    integers (low bits of each output, rejection above the range), and the copies run
    step by step for all images at once on a per-image pixel-index table.
    """
    n, height, width = x.shape[:3]
    d, iterations = c[1], c[2]
    hs = np.arange(height - d, d, -1)
    ws = np.arange(width - d, d, -1)
    per_pass = hs.size * ws.size
    steps = iterations * per_pass
    span = 2 * d
    bits = (span - 1).bit_length()
    mask = np.uint32((1 << bits) - 1)
    offsets = np.empty((n, steps, 2), dtype=np.intp)
    want = 2 * steps
    for row, seed in enumerate(seeds):
        np.random.seed(seed)
        draws = np.empty(0, dtype=np.intp)
        size = int(want * (1 << bits) / span * 1.1) + 64
        while draws.size < want:
            raw = np.random.randint(0, 2**32, size=size, dtype=np.uint32) & mask
            draws = np.concatenate([draws, raw[raw < span].astype(np.intp)])
        offsets[row] = draws[:want].reshape(steps, 2) - d
    targets = np.tile((hs[:, None] * width + ws[None, :]).ravel(), iterations)  # steps
    sources = targets[None, :] + offsets[:, :, 1] * width + offsets[:, :, 0]  # n × steps
    base = (np.arange(n) * (height * width))[:, None]
    sources = (sources + base).T.copy()
    targets = (targets[None, :] + base).T.copy()
    table = np.arange(n * height * width)
    for k in range(steps):
        table[targets[k]] = table[sources[k]]
    flat = x.reshape(n * height * width, -1)
    flat[:] = flat[table]


# --------------------------------------------------------------------------- corruptions


def _normal_draws(x: np.ndarray, scale: float, seeds: Sequence[int]) -> np.ndarray:
    """Each image's ``np.random.normal(size=image.shape, scale=scale)`` after its seed."""
    draws = np.empty(x.shape, dtype=np.float64)
    for row, seed in enumerate(seeds):
        np.random.seed(seed)
        draws[row] = np.random.normal(size=x.shape[1:], scale=scale)
    return draws


def gaussian_noise(x: np.ndarray, severity: int, seeds: Sequence[int]) -> np.ndarray:
    """``gaussian_noise``: the normal draws per image, the arithmetic batched."""
    c = [0.08, 0.12, 0.18, 0.26, 0.38][severity - 1]
    noise = _normal_draws(x, c, seeds)
    return _to_uint8(np.clip(x / 255.0 + noise, 0, 1) * 255)


def speckle_noise(x: np.ndarray, severity: int, seeds: Sequence[int]) -> np.ndarray:
    """``speckle_noise``: the normal draws per image, the arithmetic batched."""
    c = [0.15, 0.2, 0.35, 0.45, 0.6][severity - 1]
    noise = _normal_draws(x, c, seeds)
    xf = x / 255.0
    return _to_uint8(np.clip(xf + xf * noise, 0, 1) * 255)


def shot_noise(x: np.ndarray, severity: int, seeds: Sequence[int]) -> np.ndarray:
    """``shot_noise``: the Poisson draws per image, the arithmetic batched."""
    c = [60, 25, 12, 5, 3][severity - 1]
    lam = x / 255.0 * c
    draws = np.empty(x.shape, dtype=np.int64)
    for row, seed in enumerate(seeds):
        np.random.seed(seed)
        draws[row] = np.random.poisson(lam[row])
    return _to_uint8(np.clip(draws / float(c), 0, 1) * 255)


def gaussian_blur(x: np.ndarray, severity: int, seeds: Sequence[int]) -> np.ndarray:
    """``gaussian_blur`` (no randomness)."""
    c = [1, 2, 3, 4, 6][severity - 1]
    return _to_uint8(np.clip(_gaussian(x / 255.0, [c, c, 0], "nearest"), 0, 1) * 255)


def glass_blur(x: np.ndarray, severity: int, seeds: Sequence[int]) -> np.ndarray:
    """``glass_blur``: batched Gaussians around the package's pixel shuffle (emulated)."""
    c = [(0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)][severity - 1]
    sigma = [c[0], c[0], 0]
    blurred = np.uint8(_gaussian(x / 255.0, sigma, "nearest") * 255)
    _glass_shuffle(blurred, c, seeds)
    return _to_uint8(np.clip(_gaussian(blurred / 255.0, sigma, "nearest"), 0, 1) * 255)


def motion_blur(x: np.ndarray, severity: int, seeds: Sequence[int]) -> np.ndarray:
    """``motion_blur``: one uniform angle per image, the shifted sum batched."""
    c = [(10, 3), (15, 5), (15, 8), (15, 12), (20, 15)][severity - 1]
    angles = np.empty(len(seeds))
    for row, seed in enumerate(seeds):
        np.random.seed(seed)
        angles[row] = np.random.uniform(-45, 45)
    return _to_uint8(np.clip(_motion_blur(x, c[0], c[1], angles), 0, 255))


def zoom_blur(x: np.ndarray, severity: int, seeds: Sequence[int]) -> np.ndarray:
    """``zoom_blur`` (no randomness): each zoom factor once for the whole batch."""
    c = [
        np.arange(1, 1.11, 0.01),
        np.arange(1, 1.16, 0.01),
        np.arange(1, 1.21, 0.02),
        np.arange(1, 1.26, 0.02),
        np.arange(1, 1.31, 0.03),
    ][severity - 1]
    height, width = x.shape[1:3]
    planes = np.ascontiguousarray(x.transpose(0, 3, 1, 2))  # N×C×H×W: fast gathers
    xf = (planes / 255.0).astype(np.float32)
    x64 = xf.astype(np.float64)  # scipy reads the float32 values as doubles
    out = np.zeros_like(xf)
    for zoom in c:
        out += _clipped_zoom(x64, zoom, keep=(height, width)).astype(np.float32)
    xf = (xf + out) / (len(c) + 1)
    return _to_uint8(np.clip(xf, 0, 1) * 255).transpose(0, 2, 3, 1).copy()


def _plasma_fractal(draws: list[list[np.ndarray]], mapsize: int) -> np.ndarray:
    """The package's ``plasma_fractal`` for a batch, from each image's uniform draws.

    ``draws[row]`` holds that image's ``wibble * uniform(-wibble, wibble, shape)`` terms
    in the package's order (squares, then the two diamond fills, per step).
    """
    n = len(draws)
    maparray = np.empty((n, mapsize, mapsize), dtype=np.float32)
    maparray[:, 0, 0] = 0
    stepsize = mapsize
    k = 0

    def wibbled(array: np.ndarray) -> np.ndarray:
        nonlocal k
        noise = np.stack([d[k] for d in draws])
        k += 1
        return array / 4 + noise

    while stepsize >= 2:
        s = stepsize
        h = s // 2
        corner = maparray[:, 0:mapsize:s, 0:mapsize:s]
        accum = corner + np.roll(corner, shift=-1, axis=1)
        accum += np.roll(accum, shift=-1, axis=2)
        maparray[:, h:mapsize:s, h:mapsize:s] = wibbled(accum)
        dr = maparray[:, h:mapsize:s, h:mapsize:s]
        ul = maparray[:, 0:mapsize:s, 0:mapsize:s]
        lt = (dr + np.roll(dr, 1, axis=1)) + (ul + np.roll(ul, -1, axis=2))
        maparray[:, 0:mapsize:s, h:mapsize:s] = wibbled(lt)
        tt = (dr + np.roll(dr, 1, axis=2)) + (ul + np.roll(ul, -1, axis=1))
        maparray[:, h:mapsize:s, 0:mapsize:s] = wibbled(tt)
        stepsize //= 2
    maparray -= maparray.min(axis=(1, 2), keepdims=True)
    return maparray / maparray.max(axis=(1, 2), keepdims=True)


def fog(x: np.ndarray, severity: int, seeds: Sequence[int]) -> np.ndarray:
    """``fog``: each image's plasma draws per image, the diamond-square fill batched."""
    c = [(1.5, 2), (2.0, 2), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4)][severity - 1]
    height, width = x.shape[1:3]
    max_side = max(height, width, x.shape[3])
    mapsize = 1 if max_side == 0 else 2 ** (int(max_side) - 1).bit_length()
    draws: list[list[np.ndarray]] = []
    for seed in seeds:
        np.random.seed(seed)
        terms = []
        stepsize, wibble = mapsize, 100
        while stepsize >= 2:
            size = mapsize // stepsize
            for _ in range(3):
                terms.append(wibble * np.random.uniform(-wibble, wibble, (size, size)))
            stepsize //= 2
            wibble /= c[1]
        draws.append(terms)
    plasma = _plasma_fractal(draws, mapsize)[:, :height, :width, np.newaxis]
    xf = x / 255.0
    max_val = xf.max(axis=(1, 2, 3), keepdims=True)
    xf += c[0] * plasma
    return _to_uint8(np.clip(xf * max_val / (max_val + c[0]), 0, 1) * 255)


def snow(x: np.ndarray, severity: int, seeds: Sequence[int]) -> np.ndarray:
    """``snow``: the snow layer's normal draws and angle per image, the rest batched."""
    import cv2

    c = [
        (0.1, 0.3, 3, 0.5, 10, 4, 0.8),
        (0.2, 0.3, 2, 0.5, 12, 4, 0.7),
        (0.55, 0.3, 4, 0.9, 12, 8, 0.7),
        (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65),
        (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55),
    ][severity - 1]
    n, height, width = x.shape[:3]
    layer = np.empty((n, height, width), dtype=np.float64)
    angles = np.empty(n)
    for row, seed in enumerate(seeds):
        np.random.seed(seed)
        layer[row] = np.random.normal(size=(height, width), loc=c[0], scale=c[1])
        angles[row] = np.random.uniform(-135, -45)
    layer = _clipped_zoom(layer, c[2])
    layer[layer < c[3]] = 0
    layer = np.clip(layer, 0, 1)
    layer = _motion_blur(layer, c[4], c[5], angles)
    layer = np.round(layer * 255).astype(np.uint8) / 255.0
    layer = layer[:, :height, :width, np.newaxis]
    xf = np.array(x, dtype=np.float32) / 255.0
    gray = cv2.cvtColor(xf.reshape(n * height, width, 3), cv2.COLOR_RGB2GRAY)
    gray = gray.reshape(n, height, width, 1)
    xf = c[6] * xf + (1 - c[6]) * np.maximum(xf, gray * 1.5 + 0.5)
    return _to_uint8(np.clip(xf + layer + layer[:, ::-1, ::-1], 0, 1) * 255)


def _spatter_dist(liquid: np.ndarray) -> np.ndarray:
    """The package's OpenCV edge-distance chain for one uint8 liquid layer (float32)."""
    import cv2

    dist = 255 - cv2.Canny(liquid, 50, 150)
    dist = cv2.distanceTransform(dist, cv2.DIST_L2, 5)
    _, dist = cv2.threshold(dist, 20, 20, cv2.THRESH_TRUNC)
    dist = cv2.blur(dist, (3, 3)).astype(np.uint8)
    dist = cv2.equalizeHist(dist)
    ker = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
    dist = cv2.filter2D(dist, cv2.CV_8U, ker)
    return cv2.blur(dist, (3, 3)).astype(np.float32)


def spatter(x: np.ndarray, severity: int, seeds: Sequence[int]) -> np.ndarray:
    """``spatter``: the liquid draws per image, the OpenCV edge chain per image, rest batched."""
    c = [
        (0.65, 0.3, 4, 0.69, 0.6, 0),
        (0.65, 0.3, 3, 0.68, 0.6, 0),
        (0.65, 0.3, 2, 0.68, 0.5, 0),
        (0.65, 0.3, 1, 0.65, 1.5, 1),
        (0.67, 0.4, 1, 0.65, 1.5, 1),
    ][severity - 1]
    n, height, width = x.shape[:3]
    xf = np.array(x, dtype=np.float32) / 255.0
    liquid = np.empty((n, height, width), dtype=np.float64)
    for row, seed in enumerate(seeds):
        np.random.seed(seed)
        liquid[row] = np.random.normal(size=(height, width), loc=c[0], scale=c[1])
    liquid = _gaussian(liquid, [c[2], c[2]], "nearest")
    liquid[liquid < c[3]] = 0
    if c[5] == 0:
        liquid8 = (liquid * 255).astype(np.uint8)
        dist = np.stack([_spatter_dist(liquid8[row]) for row in range(n)])
        m = liquid8 * dist  # float32; GRAY2BGRA repeats it in B, G, R
        with np.errstate(invalid="ignore", divide="ignore"):
            m /= m.max(axis=(1, 2), keepdims=True)
        m *= c[4]
        ones = np.ones(1, dtype=np.float32)
        color = np.concatenate((175 / 255.0 * ones, 238 / 255.0 * ones, 238 / 255.0 * ones))
        # the package adds in BGRA, treating RGB x as BGR; the alpha channel is dropped
        return _to_uint8(np.clip(xf + m[..., np.newaxis] * color, 0, 1) * 255)
    mask = np.where(liquid > c[3], 1, 0)
    m = _gaussian(mask.astype(np.float32), [c[4], c[4]], "nearest")
    m[m < 0.8] = 0
    ones = np.ones((n, height, width, 1), dtype=np.uint8)
    color = np.concatenate((63 / 255.0 * ones, 42 / 255.0 * ones, 20 / 255.0 * ones), axis=3)
    color *= m[..., np.newaxis]
    xf *= 1 - m[..., np.newaxis]
    return _to_uint8(np.clip(xf + color, 0, 1) * 255)


def _rgb2hsv(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """skimage ``rgb2hsv`` of ``x / 255.`` (float64), without boolean-mask indexing: h, s, v."""
    r, g, b = (x[..., k] / 255.0 for k in range(3))
    v = np.maximum(np.maximum(r, g), b)
    delta = v - np.minimum(np.minimum(r, g), b)  # np.ptp
    zero = delta == 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        s = delta / v
        # skimage writes hue for "red is max", then "green is max", then "blue is max"
        h = np.where(g == v, 2.0 + (b - r) / delta, (g - b) / delta)
        h = np.where(b == v, 4.0 + (r - g) / delta, h)
    s[zero] = 0.0
    h /= 6.0
    h %= 1.0
    h[zero] = 0.0
    return h, s, v


def _hsv2rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """skimage ``hsv2rgb`` (float64): N×H×W×3."""
    hi = np.floor(h * 6)
    f = h * 6 - hi
    p = v * (1 - s)
    q = v * (1 - f * s)
    t = v * (1 - (1 - f) * s)
    sector = hi.astype(np.uint8) % 6
    out = np.empty((*h.shape, 3))
    np.choose(sector, (v, q, p, p, t, v), out=out[..., 0])
    np.choose(sector, (t, v, v, q, p, p), out=out[..., 1])
    np.choose(sector, (p, p, t, v, v, q), out=out[..., 2])
    return out


def brightness(x: np.ndarray, severity: int, seeds: Sequence[int]) -> np.ndarray:
    """``brightness`` (no randomness): V + c in HSV."""
    c = [0.1, 0.2, 0.3, 0.4, 0.5][severity - 1]
    h, s, v = _rgb2hsv(x)
    rgb = _hsv2rgb(h, s, np.clip(v + c, 0, 1))
    return _to_uint8(np.clip(rgb, 0, 1) * 255)


def saturate(x: np.ndarray, severity: int, seeds: Sequence[int]) -> np.ndarray:
    """``saturate`` (no randomness): S·a + b in HSV."""
    c = [(0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)][severity - 1]
    h, s, v = _rgb2hsv(x)
    rgb = _hsv2rgb(h, np.clip(s * c[0] + c[1], 0, 1), v)
    return _to_uint8(np.clip(rgb, 0, 1) * 255)


def _reflect_coordinate(c: np.ndarray, n: int) -> np.ndarray:
    """scipy ``map_coordinate`` for mode ``reflect`` (what ``map_coordinates`` does first)."""
    sz2 = 2 * n
    low = c < 0
    if low.any():
        cl = np.where(c < -sz2, sz2 * np.trunc(-c / sz2) + c, c)
        c = np.where(low, np.where(cl < -n, cl + sz2, -cl - 1), c)
    high = c > n - 1
    if high.any():
        ch = c - sz2 * np.trunc(c / sz2)
        c = np.where(high, np.where(ch >= n, sz2 - ch - 1, ch), c)
    return c


def _reflect_index(idx: np.ndarray, n: int) -> np.ndarray:
    """scipy's border mapping of a ``reflect``-mode filter tap (half-sample symmetric)."""
    m = idx % (2 * n)
    return np.where(m >= n, 2 * n - 1 - m, m)


def _linear_taps(c: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Order-1 taps of scipy ``map_coordinates(mode="reflect")``: indices and weights."""
    cc = _reflect_coordinate(c, n)
    start = np.floor(cc)
    w0 = 1.0 - (cc - start)
    w1 = 1.0 - w0
    i0 = start.astype(np.intp)
    return _reflect_index(i0, n), _reflect_index(i0 + 1, n), w0, w1


def elastic_transform(x: np.ndarray, severity: int, seeds: Sequence[int]) -> np.ndarray:
    """``elastic_transform``: the displacement fields' draws per image, the rest batched.

    The bilinear lookup is scipy's ``map_coordinates(order=1, mode="reflect")`` written
    out: reflected coordinate, reflected border taps, weights ``1 - t`` and ``1 - (1 - t)``,
    corners summed as value·w_y·w_x in scipy's order (the channel tap has weight 1 or 0).
    """
    n, height, width, channels = x.shape
    image = np.array(x, dtype=np.float32) / 255.0
    sigma = np.array([height, width]) * 0.01
    alpha = [250 * 0.05, 250 * 0.065, 250 * 0.085, 250 * 0.1, 250 * 0.12][severity - 1]
    max_d = height * 0.005
    ux = np.empty((n, height, width))
    uy = np.empty((n, height, width))
    for row, seed in enumerate(seeds):
        np.random.seed(seed)
        ux[row] = np.random.uniform(-max_d, max_d, size=(height, width))
        uy[row] = np.random.uniform(-max_d, max_d, size=(height, width))
    dx = (_gaussian(ux, sigma, "reflect", truncate=3) * alpha).astype(np.float32)
    dy = (_gaussian(uy, sigma, "reflect", truncate=3) * alpha).astype(np.float32)
    ys = np.arange(height)[None, :, None] + dy  # int64 + float32 -> float64, as the package
    xs = np.arange(width)[None, None, :] + dx
    y0, y1, wy0, wy1 = _linear_taps(ys, height)
    x0, x1, wx0, wx1 = _linear_taps(xs, width)
    base = (np.arange(n) * (height * width))[:, None, None]
    pixels = image.reshape(n * height * width, channels)
    wy0, wy1, wx0, wx1 = (w[..., None] for w in (wy0, wy1, wx0, wx1))
    out = pixels[base + y0 * width + x0] * wy0
    out *= wx0
    term = pixels[base + y0 * width + x1] * wy0
    term *= wx1
    out += term
    np.multiply(pixels[base + y1 * width + x0], wy1, out=term)
    term *= wx0
    out += term
    np.multiply(pixels[base + y1 * width + x1], wy1, out=term)
    term *= wx1
    out += term
    out = out.astype(np.float32)
    return _to_uint8(np.clip(out, 0, 1) * 255)


def defocus_blur(x: np.ndarray, severity: int, seeds: Sequence[int]) -> np.ndarray:
    """``defocus_blur`` (no randomness): the disk kernel once, ``filter2D`` per plane.

    OpenCV sums the taps of a large kernel in an order that depends on the image size, so
    one call over a stack of images is not byte-equal; one call per image and channel is,
    and the package's cost was its per-image kernel, copies and PIL round trip, not these.
    """
    import cv2

    disk = require("imagecorruptions.corruptions").disk

    c = [(3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)][severity - 1]
    kernel = disk(radius=c[0], alias_blur=c[1])
    xf = x / 255.0
    out = np.empty_like(xf)
    for row in range(x.shape[0]):
        for channel in range(x.shape[3]):
            out[row, :, :, channel] = cv2.filter2D(xf[row, :, :, channel], -1, kernel)
    return _to_uint8(np.clip(out, 0, 1) * 255)


def jpeg_compression(x: np.ndarray, severity: int, seeds: Sequence[int]) -> np.ndarray:
    """``jpeg_compression``: the same PIL round trip per image, without the wrapper's checks."""
    from PIL import Image

    c = [25, 18, 15, 10, 7][severity - 1]
    out = np.empty_like(x)
    for row in range(x.shape[0]):
        buffer = BytesIO()
        Image.fromarray(x[row]).save(buffer, "JPEG", quality=c)
        with Image.open(buffer) as decoded:
            out[row] = np.asarray(decoded)
    return out


CHUNK = 32  # images per pass: float64 temporaries of 32×32×3 images stay in cache

# Corruptions that treat the three channels alike and independently: on a batch whose
# channels are equal (grey images, such as digits) one channel gives all three.
CHANNELWISE = frozenset(
    {"gaussian_blur", "glass_blur", "defocus_blur", "motion_blur", "zoom_blur", "elastic_transform"}
)


def corrupt_batch(x: np.ndarray, name: str, severity: int, seeds: Sequence[int]) -> np.ndarray:
    """Corrupt a batch N×H×W×3 (uint8) with ``name``; the package's bytes (see module doc).

    Runs in chunks of `CHUNK` images so that the float64 temporaries stay in cache (3× faster
    for 128 colour images of 32×32 than one pass). Every sample is computed alone from its
    own seed, so chunking changes nothing in the output. Draws from (reseeds) numpy's
    global generator: the caller restores its state.
    """
    function = BATCHED[name]
    out = np.empty_like(x)
    for start in range(0, x.shape[0], CHUNK):
        part = x[start : start + CHUNK]
        part_seeds = seeds[start : start + CHUNK]
        if name in CHANNELWISE and _grey(part):
            grey = function(np.ascontiguousarray(part[..., :1]), severity, part_seeds)
            out[start : start + CHUNK] = grey  # broadcast to the three channels
        else:
            out[start : start + CHUNK] = function(part, severity, part_seeds)
    return out


def _grey(x: np.ndarray) -> bool:
    """Whether every pixel of the batch has three equal channels."""
    return bool(np.array_equal(x[..., 0], x[..., 1]) and np.array_equal(x[..., 0], x[..., 2]))


BATCHED: dict[str, Batched] = {
    "gaussian_noise": gaussian_noise,
    "speckle_noise": speckle_noise,
    "shot_noise": shot_noise,
    "gaussian_blur": gaussian_blur,
    "glass_blur": glass_blur,
    "defocus_blur": defocus_blur,
    "motion_blur": motion_blur,
    "zoom_blur": zoom_blur,
    "snow": snow,
    "fog": fog,
    "brightness": brightness,
    "saturate": saturate,
    "elastic_transform": elastic_transform,
    "spatter": spatter,
    "jpeg_compression": jpeg_compression,
}
