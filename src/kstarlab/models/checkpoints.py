"""Reading checkpoints safely and fitting their weights to an architecture.

A checkpoint is a pickle, and pickles can run code, so files are read with
``torch.load(weights_only=True)``. One that needs full unpickling is refused unless the
caller says it is trusted (``trusted: true`` in the model's config entry).

Accepted layouts: a plain state_dict, ``{"state_dict": ...}`` or ``{"model": ...}``
(optionally holding a whole ``nn.Module`` when trusted). Keys lose their ``module.``
(DataParallel) and ``model.`` prefixes, and the robustness library's duplicate
``attacker.*`` and ``normalizer.*`` entries are dropped (Salman et al.'s adversarially
trained ImageNet models; Geirhos et al.'s Stylized-ImageNet ResNet-50 uses ``module.``).
Missing, unexpected or misshapen keys are a clear error.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from kstarlab.errors import InputError

STRIP_PREFIXES = ("module.", "model.")
DROP_PREFIXES = ("attacker.", "normalizer.")
# torchvision's old DenseNet checkpoints name "norm.1" what the module calls "norm1".
_DENSENET_KEY = re.compile(r"^(.*denselayer\d+\.(?:norm|conv))\.([12])\.(\w+)$")


def read_checkpoint(path: str | os.PathLike[str], *, trusted: bool = False) -> Any:
    """The unpickled content of ``path``: tensors-only unless ``trusted``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"weights file not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        unsafe = _unsafe_globals(path, exc)
        if not unsafe:
            raise InputError(f"cannot read weights file {path}: not a torch checkpoint") from None
        if not trusted:
            raise InputError(
                f"refusing to unpickle {path}: it holds objects other than tensors "
                f"({', '.join(unsafe[:3])}), and loading it could run code; set "
                "'trusted: true' in the model's config entry (or pass --trusted) only if you "
                "trust its source"
            ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise InputError(f"cannot read weights file {path}: {_first_line(exc)}") from None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # arbitrary unpickling failures
        raise InputError(f"cannot read weights file {path}: {_first_line(exc)}") from None


def extract_state_dict(obj: Any, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """The state_dict inside a checkpoint object, keys cleaned (prefixes, duplicates)."""
    state = _find_state_dict(obj, source)
    cleaned: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        key = str(key)
        key = _strip(key, ("module.",))
        if key.startswith(DROP_PREFIXES):
            continue
        key = _strip(key, STRIP_PREFIXES)
        key = _DENSENET_KEY.sub(r"\1\2.\3", key)
        if key in cleaned:
            raise InputError(f"{source}: two entries map to the same key {key!r}")
        cleaned[key] = value
    if not cleaned:
        raise InputError(f"{source}: no weights left after dropping attacker/normalizer entries")
    return cleaned


def load_weights(
    net: nn.Module, path: str | os.PathLike[str], *, trusted: bool = False
) -> dict[str, Any]:
    """Load the checkpoint at ``path`` into ``net`` strictly; returns its non-weight entries."""
    obj = read_checkpoint(path, trusted=trusted)
    state = extract_state_dict(obj, str(path))
    apply_state_dict(net, state, str(path))
    return {k: v for k, v in obj.items() if k != "state_dict"} if isinstance(obj, dict) else {}


def apply_state_dict(net: nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """``net.load_state_dict(state)`` with one-line errors for missing/unexpected/misshapen keys.

    Missing ``num_batches_tracked`` counters (checkpoints older than PyTorch 0.4.1) are fine.
    """
    expected = net.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing ({_few(missing)})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected ({_few(unexpected)})")
        raise InputError(f"weights {source} do not match the architecture: {'; '.join(parts)} keys")
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise InputError(f"weights {source}: entry {key!r} is not a tensor")
        if tuple(value.shape) != tuple(expected[key].shape):
            raise InputError(
                f"weights {source} do not match the architecture: {key} has shape "
                f"{tuple(value.shape)}, the model expects {tuple(expected[key].shape)}"
            )
    net.load_state_dict(state, strict=False)


def file_sha256(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _find_state_dict(obj: Any, source: str) -> Mapping[str, Any]:
    if isinstance(obj, nn.Module):
        return obj.state_dict()
    if not isinstance(obj, Mapping):
        raise InputError(f"{source}: expected a state_dict or a dict, found {type(obj).__name__}")
    for key in ("state_dict", "model"):
        inner = obj.get(key)
        if isinstance(inner, nn.Module):
            return inner.state_dict()
        if isinstance(inner, Mapping) and inner and _is_tensor_map(inner):
            return inner
    if obj and _is_tensor_map(obj):
        return obj
    keys = ", ".join(sorted(map(str, obj))[:8]) or "nothing"
    raise InputError(
        f"{source}: no state_dict found (expected tensors, 'state_dict' or 'model'; "
        f"top-level keys: {keys})"
    )


def _is_tensor_map(mapping: Mapping[str, Any]) -> bool:
    return all(isinstance(v, torch.Tensor) for v in mapping.values())


def _strip(key: str, prefixes: tuple[str, ...]) -> str:
    changed = True
    while changed:
        changed = False
        for prefix in prefixes:
            if key.startswith(prefix):
                key, changed = key[len(prefix) :], True
    return key


def _few(keys: list[str], n: int = 4) -> str:
    return ", ".join(keys[:n]) + (", …" if len(keys) > n else "")


def _unsafe_globals(path: Path, exc: BaseException) -> list[str]:
    """The globals a weights-only load refused, or [] when the file is not a checkpoint."""
    try:
        return list(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    except Exception:  # legacy (non-zip) format: read the refusal message instead
        found = re.findall(r"Unsupported global: GLOBAL ([\w.]+)", str(exc))
        return found


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.split("\n", 1)[0] if text else type(exc).__name__
