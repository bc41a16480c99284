"""The torch device a computation runs on, checked once with a one-line error."""

from __future__ import annotations

import os
from typing import Any

import torch

from kstarlab.errors import InputError


def resolve_device(device: Any) -> torch.device:
    """``device`` (a string such as ``"cpu"`` or ``"cuda:0"``, or a torch.device) checked.

    A CUDA device that torch cannot find is an `InputError`, not a failure deep inside a
    job. On CUDA, cuBLAS gets the workspace setting that deterministic algorithms need.
    """
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InputError(f"invalid device {device!r}: {exc}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"device {str(device)!r} requested, but torch finds no CUDA device")
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    return dev
