"""Row sources: uniform, block-wise access to an (N, D) matrix held in numpy, torch or HDF5.

The k* engine never needs the whole matrix at once. A `RowSource` hands out contiguous
row ranges and sorted index lists as torch tensors in the compute dtype on the compute
device, so an `h5py.Dataset` is streamed from disk block by block.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from kstarlab.errors import InputError


@dataclass
class RowSource:
    """Block-wise reader over a 2-D matrix-like object."""

    data: Any
    n: int
    d: int
    kind: str  # "numpy", "torch", "lazy" (h5py.Dataset, ...) or "ready" (materialized)
    dtype: torch.dtype
    device: torch.device
    shift: torch.Tensor | None = None  # subtracted from every row (see kstar._exact_shift)

    def rows(self, start: int, stop: int) -> torch.Tensor:
        """Rows ``start:stop`` as a contiguous tensor in the compute dtype and device."""
        if self.kind == "ready":
            return self.data[start:stop]
        if self.kind == "torch":
            block = self.data[start:stop]
        else:
            block = torch.from_numpy(np.ascontiguousarray(self.data[start:stop]))
        return self._finish(block)

    def _finish(self, block: torch.Tensor) -> torch.Tensor:
        block = block.to(device=self.device, dtype=self.dtype)
        if self.shift is not None:
            block = block - self.shift
        return block.contiguous()

    def take(self, index: np.ndarray) -> torch.Tensor:
        """Rows at the increasing positions ``index``."""
        if index.size and np.all(np.diff(index) == 1):
            return self.rows(int(index[0]), int(index[-1]) + 1)
        if self.kind == "ready":
            return self.data[torch.from_numpy(index).to(self.data.device)]
        if self.kind == "torch":
            block = self.data[torch.from_numpy(index).to(self.data.device)]
        elif self.kind == "numpy":
            block = torch.from_numpy(np.ascontiguousarray(self.data[index]))
        else:  # h5py fancy indexing wants an increasing list
            block = torch.from_numpy(np.ascontiguousarray(self.data[index.tolist()]))
        return self._finish(block)

    def materialize(self, budget: int) -> bool:
        """Convert an in-memory source once to the compute dtype and device, shift applied,
        so tiles are views instead of per-tile copies. Lazy (HDF5) sources stay streamed,
        and nothing happens when the copy would exceed ``budget`` bytes."""
        if self.kind == "lazy":
            return False
        item = torch.empty((), dtype=self.dtype).element_size()
        if self.n * self.d * item > budget:
            return False
        data = self.data if self.kind == "torch" else torch.from_numpy(np.asarray(self.data))
        data = data.to(device=self.device, dtype=self.dtype)
        if self.shift is not None:
            data = data - self.shift
        self.data, self.kind, self.shift = data.contiguous(), "ready", None
        return True

    def blocks(self, block_size: int) -> Iterator[tuple[int, int]]:
        """Contiguous ``(start, stop)`` ranges covering all rows."""
        for start in range(0, self.n, block_size):
            yield start, min(start + block_size, self.n)


def as_row_source(X: Any, dtype: torch.dtype, device: torch.device) -> RowSource:
    """Wrap X without copying it; validate that it is a non-empty 2-D numeric matrix."""
    if isinstance(X, torch.Tensor):
        data, kind = X.detach(), "torch"
        if data.is_complex() or data.dtype == torch.bool:
            raise InputError(f"X must be real-valued, got torch dtype {data.dtype}")
    elif isinstance(X, np.ndarray):
        data, kind = X, "numpy"
    elif hasattr(X, "shape") and hasattr(X, "dtype") and hasattr(X, "__getitem__"):
        data, kind = X, "lazy"  # h5py.Dataset, zarr array, ...
    else:
        try:
            data, kind = np.asarray(X), "numpy"
        except (TypeError, ValueError) as exc:
            raise InputError(f"X cannot be read as a numeric matrix: {exc}") from None
    shape = tuple(data.shape)
    if len(shape) != 2:
        raise InputError(f"X must be 2-D (n_samples, n_features), got shape {shape}")
    if shape[0] == 0 or shape[1] == 0:
        raise InputError(f"X is empty: shape {shape}")
    if kind != "torch":
        np_dtype = np.dtype(data.dtype)
        if np_dtype.kind not in "iuf":
            raise InputError(f"X must be numeric, got dtype {np_dtype}")
    return RowSource(data, int(shape[0]), int(shape[1]), kind, dtype, device)
