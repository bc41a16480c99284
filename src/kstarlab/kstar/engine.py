"""The k* engine: exact, block-wise k* values for every sample of a latent space.

Definition (Kotyan et al., with a strict tie rule). Sample i of class c (n_c samples) has
d_o(i), its smallest distance to a sample of another class. Then

    k*_i = 1 + #{ j != i : y_j = y_i and d(i, j) < d_o(i) }

and with ``normalize=True`` it is divided by n_c, so k*_i lies in [1/n_c, 1].

This equals the authors' notebook (sort each row of the full distance matrix, self first,
take the position of the first other-class label) whenever no two distances tie. Under
ties the notebook's answer depends on the sort order; kstarlab's *strict rule* instead says
a same-class sample at exactly d_o(i) does not count.

Algorithm. The N x N matrix is never built. Pass 1 walks the upper triangle of square tiles
(the distance is symmetric, so each tile serves its rows and its columns) and keeps the
running minimum distance to another class (and, when asked, where it lies: the nearest
other-class sample). Pass 2 visits only same-class tiles, class by class, and counts the
distances below d_o. Pass 2 costs about 2/C of pass 1 for C balanced classes.

Memory. The tiles take O(block_size^2) with block_size <= N, plus O(N) for the running
minima and counts. An in-memory input (numpy or torch) is also converted once to the
compute dtype and device, common offset removed: one N x D copy, so that tiles are views
rather than per-tile copies. That copy is made only when it fits a quarter of the
available memory (at most 4 GiB); otherwise tiles are converted one at a time. An h5py
dataset is always streamed tile by tile.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from kstarlab.errors import InputError
from kstarlab.kstar.rows import RowSource, as_row_source
from kstarlab.models.device import resolve_device
from kstarlab.names import METRICS

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def kstar_values(
    X: Any,
    y: Any,
    *,
    metric: str = "euclidean",
    p: float | None = None,
    normalize: bool = True,
    dtype: str = "float32",
    block_size: int | None = None,
    device: str = "cpu",
    progress: bool = False,
    return_nearest: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """k* of every sample of ``X`` with respect to the labels ``y``.

    Parameters
    ----------
    X : (N, D) numpy array, torch tensor or h5py dataset
        The latent space. An h5py dataset is read block by block, never loaded whole.
    y : (N,) integer labels (ground truth, not predictions).
    metric : one of scipy's names "euclidean", "sqeuclidean", "cityblock" (L1),
        "chebyshev" (L-inf), "minkowski" (needs ``p >= 1``) or "cosine" (1 - cos sim).
    normalize : divide k* by the size of the sample's class.
    dtype : "float32" or "float64". With float64 the result equals a brute-force float64
        computation exactly, ties in integer-valued data included: euclidean distances are
        compared as squared distances (integer arithmetic stays exact), L1/L-inf/Minkowski
        are summed directly. With float32, squared euclidean and cosine distances carry a
        relative rounding error of about 1e-6 of the squared norms, so a same-class
        distance within that error of d_o may fall on either side of it (a *near-tie*).
    block_size : rows per tile; chosen from available memory when None.
    device : torch device string, e.g. "cpu" or "cuda:0". TF32 is disabled on GPU.
    progress : show a tqdm progress bar.
    return_nearest : also return each sample's nearest sample of another class, found in
        pass 1 from the same tiles (no extra distances): the sample that bounds its k*,
        so that an explorer can show each low-k* sample beside it.

    Returns
    -------
    numpy array of shape (N,): float64 in [1/n_c, 1] if ``normalize`` else int64 >= 1.
    With ``return_nearest``, the tuple ``(values, nearest)``: ``nearest[i]`` (int64, a row
    of ``X``) is the j with ``y[j] != y[i]`` minimising d(i, j), the lowest such j on ties.
    It comes from the same distance tiles as d_o, so d(i, nearest[i]) is d_o(i) as the
    engine computed it: exact with float64 (as above), subject to the same near-ties with
    float32. Should the distances overflow to infinity (entries near the dtype's largest
    value), every other-class sample ties at d_o = inf and the lowest-index one is taken.
    """
    if not isinstance(return_nearest, (bool, np.bool_)):
        raise InputError(f"return_nearest must be True or False, got {return_nearest!r}")
    torch_dtype = _check_dtype(dtype)
    dev = resolve_device(device)
    metric, p = _check_metric(metric, p)
    source = as_row_source(X, torch_dtype, dev)
    labels = _check_labels(y, source.n)
    block = _check_block_size(block_size, source, dev)

    classes, codes, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if classes.size < 2:
        raise InputError(
            f"k* needs at least 2 classes, but y holds only one (label {classes[0].item()})"
        )
    n_tiles = _n_tiles(source.n, block) + sum(_n_tiles(int(c), block) for c in counts)
    with (
        _exact_matmul(),
        tqdm(
            total=n_tiles, desc=f"k* ({metric})", unit="tile", disable=not progress, leave=False
        ) as bar,
    ):
        aux = _row_statistics(source, block, metric)
        nearest = None
        if source.kind == "ready" and not return_nearest:
            closer = _closer_counts_sorted(source, codes, aux, block, metric, p, bar)
        else:
            y_dev = torch.from_numpy(codes.astype(np.int64)).to(dev)
            d_other, nearest = _nearest_other_class(
                source, y_dev, aux, block, metric, p, bar, track_index=bool(return_nearest)
            )
            closer = _count_closer_same_class(source, codes, d_other, aux, block, metric, p, bar)
    k = closer.cpu().numpy().astype(np.int64) + 1
    values = k / counts[codes].astype(np.float64) if normalize else k
    if nearest is None:
        return values
    return values, nearest.cpu().numpy().astype(np.int64)


# --------------------------------------------------------------------------- validation


def _check_dtype(dtype: Any) -> torch.dtype:
    if isinstance(dtype, torch.dtype) and dtype in DTYPES.values():
        return dtype
    if isinstance(dtype, str) and dtype in DTYPES:
        return DTYPES[dtype]
    raise InputError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")


def _check_metric(metric: Any, p: Any) -> tuple[str, float | None]:
    if metric not in METRICS:
        raise InputError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    if metric != "minkowski":
        if p is not None:
            raise InputError(f"p is only used with metric='minkowski', not {metric!r}")
        return metric, None
    try:
        p = float(p)
    except (TypeError, ValueError):
        raise InputError(f"metric 'minkowski' needs a number p >= 1, got p={p!r}") from None
    if not p >= 1:  # also rejects NaN
        raise InputError(f"metric 'minkowski' needs p >= 1, got p={p}")
    # Use the exact special-cased kernels for the common norms.
    if p == 1:
        return "cityblock", None
    if p == 2:
        return "euclidean", None
    if math.isinf(p):
        return "chebyshev", None
    return "minkowski", p


def _check_labels(y: Any, n: int) -> np.ndarray:
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    try:
        labels = np.asarray(y)
    except (TypeError, ValueError) as exc:
        raise InputError(f"y cannot be read as an array of labels: {exc}") from None
    if labels.ndim != 1:
        raise InputError(f"y must be 1-D, got shape {labels.shape}")
    if labels.shape[0] != n:
        raise InputError(
            f"X and y have different lengths: X has {n} rows, y has {labels.shape[0]} labels"
        )
    if labels.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(labels) | (labels != np.round(labels)))
        if bad.size:
            raise InputError(
                f"y must hold integer labels; y[{bad[0]}] = {labels[bad[0]].item()} is not one"
            )
        labels = labels.astype(np.int64)
    elif labels.dtype.kind not in "iub":
        raise InputError(f"y must hold integer labels, got dtype {labels.dtype}")
    return labels


def _check_block_size(block_size: Any, source: RowSource, device: torch.device) -> int:
    if block_size is None:
        return auto_block_size(source.n, source.d, source.dtype, device, lazy=source.kind == "lazy")
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)):
        raise InputError(f"block_size must be a positive integer, got {block_size!r}")
    if block_size < 1:
        raise InputError(f"block_size must be a positive integer, got {block_size}")
    return int(min(block_size, source.n))


def available_memory(device: torch.device) -> int:
    """Bytes of memory available for work on ``device`` right now."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    with contextlib.suppress(OSError, ValueError), open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))


def auto_block_size(
    n: int, d: int, dtype: torch.dtype, device: torch.device, *, lazy: bool = False
) -> int:
    """Tile side for N samples of dimension D: fits a quarter of free memory (<= 1 GiB).

    A tile needs about b^2 (2 * itemsize + 1) bytes for distances, mask and temporaries
    plus 2 b D itemsize for its two row blocks. On CPU, 1024-row tiles measured fastest
    (small tiles exploit symmetry better, the matrix product stays efficient); a lazy
    source (HDF5) is re-read once per row block, so it gets larger tiles.
    """
    item = torch.empty((), dtype=dtype).element_size()
    budget = min(available_memory(device) // 4, 1 << 30)
    cap = 8192 if device.type == "cuda" else (4096 if lazy else 1024)
    b = cap
    while b > 64 and b * b * (2 * item + 1) + 2 * b * d * item > budget:
        b //= 2
    return max(1, min(n, b))


# --------------------------------------------------------------------------- computation


@contextlib.contextmanager
def _exact_matmul() -> Iterator[None]:
    """Disable TF32 (reduced-precision matmul on Ampere+ GPUs) for the duration."""
    saved = (
        torch.backends.cuda.matmul.allow_tf32,
        torch.backends.cudnn.allow_tf32,
        torch.get_float32_matmul_precision(),
    )
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = saved[0]
        torch.backends.cudnn.allow_tf32 = saved[1]
        torch.set_float32_matmul_precision(saved[2])


def _n_tiles(n: int, block: int) -> int:
    m = -(-n // block)
    return m * (m + 1) // 2


def _row_statistics(source: RowSource, block: int, metric: str) -> torch.Tensor | None:
    """Validate every row (finite; non-zero for cosine) and return per-row auxiliaries.

    For euclidean metrics: squared norms, used by d^2 = |a|^2 + |b|^2 - 2 a.b, after
    removing the data's common offset (`_exact_shift`). For cosine: norms, used to
    normalise rows. Otherwise None.
    """
    euclidean = metric in ("euclidean", "sqeuclidean")
    sums = torch.zeros(source.d, dtype=torch.float64, device=source.device)
    squares = torch.zeros_like(sums)
    stats = torch.empty(source.n, dtype=source.dtype, device=source.device)
    for start, stop in source.blocks(block):
        rows = source.rows(start, stop)
        finite = torch.isfinite(rows)
        if not bool(finite.all()):
            r, c = (int(v) for v in torch.nonzero(~finite)[0])
            raise InputError(f"X contains NaN or infinity at row {start + r} (column {c})")
        if euclidean:
            wide = rows.to(torch.float64)
            sums += wide.sum(dim=0)
            squares += (wide * wide).sum(dim=0)
        elif metric == "cosine":
            norms = torch.linalg.vector_norm(rows, dim=1)
            zero = torch.nonzero(norms == 0)
            if zero.numel():
                row = start + int(zero[0, 0])
                raise InputError(f"cosine distance is undefined for the all-zero row {row} of X")
            stats[start:stop] = norms
    if euclidean:
        source.shift = _exact_shift(sums, squares, source.n).to(source.dtype)
    source.materialize(min(available_memory(source.device) // 4, 4 << 30))
    if not euclidean:
        return stats if metric == "cosine" else None
    for start, stop in source.blocks(block):
        rows = source.rows(start, stop)
        stats[start:stop] = (rows * rows).sum(dim=1)
    return stats


def _exact_shift(sums: torch.Tensor, squares: torch.Tensor, n: int) -> torch.Tensor:
    """A per-column offset to subtract before |a|^2 + |b|^2 - 2 a.b, without losing ties.

    The Gram form cancels catastrophically when the data sit far from the origin relative
    to their spread (|x|^2 >> d^2). Distances do not change under translation, so the
    column mean is removed, rounded to a multiple of a power of two q <= the column's
    spread: subtracting it is exact for data near the offset (Sterbenz) and keeps integer
    data integer when the spread is at least 1, so exact ties stay exact.
    """
    mean = sums / n
    var = (squares / n - mean * mean).clamp_min(0.0)
    std = var.sqrt()
    q = torch.where(std > 0, torch.exp2(torch.floor(torch.log2(std))), torch.ones_like(std))
    shift = torch.round(mean / q) * q
    return torch.where(std > 0, shift, mean)


def _distances(
    a: torch.Tensor,
    b: torch.Tensor,
    aux_a: torch.Tensor | None,
    aux_b: torch.Tensor | None,
    metric: str,
    p: float | None,
    buffer: torch.Tensor | None = None,
) -> torch.Tensor:
    """A tile of monotone transforms of the distance: order-preserving, cheap to compare.

    euclidean -> squared distance; cosine -> -cos similarity; others -> the distance.
    Cosine rows are divided by their norms ``aux`` here, or come divided already when
    ``aux`` is None (the same elementwise division, done once for the whole copy).
    ``buffer`` (a flat tensor of at least len(a) * len(b) elements) receives the tile of
    a euclidean or cosine metric: at small D a fresh 4 MB tile per step costs about as
    much as its matrix product.
    """
    out = None
    if buffer is not None and metric in ("euclidean", "sqeuclidean", "cosine"):
        out = buffer[: a.shape[0] * b.shape[0]].view(a.shape[0], b.shape[0])
    if metric in ("euclidean", "sqeuclidean"):
        tile = torch.addmm(aux_b.unsqueeze(0), a, b.T, beta=1.0, alpha=-2.0, out=out)
        return tile.add_(aux_a.unsqueeze(1))
    if metric == "cosine":
        if aux_a is not None:
            a, b = a / aux_a.unsqueeze(1), b / aux_b.unsqueeze(1)
        return torch.mm(a, b.T, out=out).neg_()
    order = {"cityblock": 1.0, "chebyshev": math.inf}.get(metric, p)
    return torch.cdist(a, b, p=order)


def _tile_buffer(source: RowSource, block: int) -> torch.Tensor:
    """One tile's storage, reused by every tile of a pass."""
    return torch.empty(block * block, dtype=source.dtype, device=source.device)


def _nearest_other_class(
    source: RowSource,
    y: torch.Tensor,
    aux: torch.Tensor | None,
    block: int,
    metric: str,
    p: float | None,
    bar: tqdm,
    *,
    track_index: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """d_o for every row: its smallest distance to a sample of another class (pass 1);
    with ``track_index`` also the row where it lies (lowest index on ties), else None.

    Tiles come in row-block order, each serving its rows (row minima) and, off the
    diagonal, its columns (column minima). A row r thus sees its candidates in increasing
    index order, but the lowest-index rule does not rely on it: `_keep_nearest` prefers the
    lower index explicitly on equal distances, and torch's min(dim=...) returns the first
    index of a tied minimum (ATen's LessOrNan, CPU and CUDA alike).
    """
    d_other = torch.full((source.n,), math.inf, dtype=source.dtype, device=source.device)
    nearest = None
    if track_index:  # n: "none yet", above every real index
        nearest = torch.full((source.n,), source.n, dtype=torch.int64, device=source.device)
    ranges = list(source.blocks(block))
    buffer = _tile_buffer(source, block)
    for bi, (i0, i1) in enumerate(ranges):
        rows_i = source.rows(i0, i1)
        aux_i = None if aux is None else aux[i0:i1]
        for j0, j1 in ranges[bi:]:
            rows_j = rows_i if j0 == i0 else source.rows(j0, j1)
            aux_j = None if aux is None else aux[j0:j1]
            tile = _distances(rows_i, rows_j, aux_i, aux_j, metric, p, buffer)
            tile.masked_fill_(y[i0:i1, None] == y[None, j0:j1], math.inf)
            if nearest is None:
                torch.minimum(d_other[i0:i1], tile.amin(dim=1), out=d_other[i0:i1])
                if j0 != i0:
                    torch.minimum(d_other[j0:j1], tile.amin(dim=0), out=d_other[j0:j1])
            else:
                values, where = tile.min(dim=1)
                _keep_nearest(d_other[i0:i1], nearest[i0:i1], values, where + j0)
                if j0 != i0:
                    values, where = tile.min(dim=0)
                    _keep_nearest(d_other[j0:j1], nearest[j0:j1], values, where + i0)
            bar.update()
    if nearest is not None:
        _nearest_when_unbounded(d_other, nearest, y)
    return d_other, nearest


def _closer_counts_sorted(
    source: RowSource,
    codes: np.ndarray,
    aux: torch.Tensor | None,
    block: int,
    metric: str,
    p: float | None,
    bar: tqdm,
) -> torch.Tensor:
    """Both passes for an in-memory source, on a class-sorted copy of it: the count of
    same-class samples closer than d_o for every row, in the rows' original order.

    Sorted by class, a pass-1 tile's same-class entries are a few rectangles near the
    diagonal, masked by slices, where `_nearest_other_class` compares b x b labels and
    masks every tile; and a class is a slice of rows for pass 2, where
    `_count_closer_same_class` gathers its rows by index. At small D both cost more than
    the tiles' matrix products. Each distance is computed by the same `_distances` call
    (cosine's rows divided by their norms once, the same elementwise division), and each
    class's pass-2 tiles hold the same rows in the same order (a stable sort), so the
    counts are those of the two general passes. No nearest index: on equal distances its
    lowest-index rule needs the original order.
    """
    n = source.n
    order = np.argsort(codes, kind="stable")
    index = torch.from_numpy(order).to(source.device)
    data = source.data.index_select(0, index)
    aux_sorted = None if aux is None else aux.index_select(0, index)
    if metric == "cosine":  # unit rows once, as `_distances` would divide every tile
        data = data / aux_sorted.unsqueeze(1)
        aux_sorted = None
    sorted_codes = codes[order]
    bounds = np.flatnonzero(np.diff(sorted_codes)) + 1
    starts = np.concatenate(([0], bounds)).tolist()
    stops = np.concatenate((bounds, [n])).tolist()
    class_of = sorted_codes.tolist()
    buffer = _tile_buffer(source, block)

    def rows(i0: int, i1: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        return data[i0:i1], None if aux_sorted is None else aux_sorted[i0:i1]

    # pass 1: d_o over the upper triangle of tiles
    d_sorted = torch.full((n,), math.inf, dtype=source.dtype, device=source.device)
    ranges = list(source.blocks(block))
    for bi, (i0, i1) in enumerate(ranges):
        rows_i, aux_i = rows(i0, i1)
        for j0, j1 in ranges[bi:]:
            rows_j, aux_j = (rows_i, aux_i) if j0 == i0 else rows(j0, j1)
            tile = _distances(rows_i, rows_j, aux_i, aux_j, metric, p, buffer)
            # the classes present in both the tile's rows and its columns (j0 >= i0)
            for c in range(class_of[j0], class_of[i1 - 1] + 1):
                r0, r1 = max(starts[c], i0), min(stops[c], i1)
                q0, q1 = max(starts[c], j0), min(stops[c], j1)
                if r0 < r1 and q0 < q1:
                    tile[r0 - i0 : r1 - i0, q0 - j0 : q1 - j0] = math.inf
            torch.minimum(d_sorted[i0:i1], tile.amin(dim=1), out=d_sorted[i0:i1])
            if j0 != i0:
                torch.minimum(d_sorted[j0:j1], tile.amin(dim=0), out=d_sorted[j0:j1])
            bar.update()

    # pass 2: each class's slice, in chunks of `block` rows as `_count_closer_same_class`
    closer = torch.zeros(n, dtype=torch.int64, device=source.device)
    for start, stop in zip(starts, stops, strict=True):
        chunks = [(a, min(a + block, stop)) for a in range(start, stop, block)]
        for ci, (i0, i1) in enumerate(chunks):
            rows_i, aux_i = rows(i0, i1)
            for j0, j1 in chunks[ci:]:
                rows_j, aux_j = (rows_i, aux_i) if j0 == i0 else rows(j0, j1)
                tile = _distances(rows_i, rows_j, aux_i, aux_j, metric, p, buffer)
                lim_j = None if j0 == i0 else d_sorted[j0:j1]
                by_row, by_column = _closer_in_tile(tile, d_sorted[i0:i1], lim_j)
                closer[i0:i1] += by_row
                if by_column is not None:
                    closer[j0:j1] += by_column
                bar.update()
    unsorted = torch.empty_like(closer)
    unsorted[index] = closer
    return unsorted


def _closer_in_tile(
    tile: torch.Tensor, lim_i: torch.Tensor, lim_j: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per row (and, off the diagonal, per column) of a same-class tile: how many of its
    distances lie strictly below that sample's d_o. ``lim_j`` None marks a diagonal tile
    (rows and columns the same samples), whose diagonal, a sample's distance to itself,
    is no neighbour."""
    below_i = tile < lim_i.unsqueeze(1)
    if lim_j is None:
        below_i.fill_diagonal_(False)
        return below_i.sum(dim=1), None
    return below_i.sum(dim=1), (tile < lim_j.unsqueeze(0)).sum(dim=0)


def _keep_nearest(
    best: torch.Tensor, held: torch.Tensor, values: torch.Tensor, index: torch.Tensor
) -> None:
    """Merge one tile's per-row minima ``values`` at rows ``index`` into the running
    minima ``best`` and their rows ``held`` (views, updated in place): the smaller distance
    wins, and on equal distances the lower index, whatever order the tiles come in."""
    take = (values < best) | ((values == best) & (index < held))
    held.copy_(torch.where(take, index, held))
    torch.minimum(best, values, out=best)  # as the plain path does: the same d_o


def _nearest_when_unbounded(d_other: torch.Tensor, nearest: torch.Tensor, y: torch.Tensor) -> None:
    """Rows whose d_o is not finite (distances overflowed): every other-class sample is
    at d_o, and a same-class sample masked to inf may have won a tile's argmin, so take the
    lowest index of another class outright."""
    unbounded = ~(d_other < math.inf)
    if not bool(unbounded.any()):
        return
    first_other = torch.nonzero(y != y[0])[0, 0]  # exists: there are >= 2 classes
    zero = torch.zeros_like(first_other)
    nearest[unbounded] = torch.where(y[unbounded] != y[0], zero, first_other)


def _count_closer_same_class(
    source: RowSource,
    codes: np.ndarray,
    d_other: torch.Tensor,
    aux: torch.Tensor | None,
    block: int,
    metric: str,
    p: float | None,
    bar: tqdm,
) -> torch.Tensor:
    """#{j != i in i's class : d(i, j) < d_o(i)} for every row (pass 2, same-class tiles)."""
    closer = torch.zeros(source.n, dtype=torch.int64, device=source.device)
    buffer = _tile_buffer(source, block)
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    for members in np.split(order, bounds):
        members = np.sort(members)
        chunks = [members[s : s + block] for s in range(0, members.size, block)]
        for ci, rows_idx in enumerate(chunks):
            rows_i = source.take(rows_idx)
            pos_i = torch.from_numpy(rows_idx).to(source.device)
            aux_i = None if aux is None else aux[pos_i]
            lim_i = d_other[pos_i]
            for cols_idx in chunks[ci:]:
                diagonal = cols_idx is rows_idx
                rows_j = rows_i if diagonal else source.take(cols_idx)
                pos_j = pos_i if diagonal else torch.from_numpy(cols_idx).to(source.device)
                aux_j = None if aux is None else aux[pos_j]
                tile = _distances(rows_i, rows_j, aux_i, aux_j, metric, p, buffer)
                lim_j = None if diagonal else d_other[pos_j]
                by_row, by_column = _closer_in_tile(tile, lim_i, lim_j)
                closer.index_add_(0, pos_i, by_row)
                if by_column is not None:
                    closer.index_add_(0, pos_j, by_column)
                bar.update()
    return closer
