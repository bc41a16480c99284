"""Models: the embedded zoo, torchvision architectures, checkpoints and the registry.

The public names are imported on first use (PEP 562): a job that only needs a device or
a checkpoint reader (the k* engine's `models.device`) does not import the registry, whose
torchvision import costs more than a k* cell's work.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kstarlab.models.registry import (
        Classifier,
        LoadedModel,
        ModelEntry,
        available_models,
        classifier_head,
        load_model,
        read_model_config,
        resolve_entry,
    )

_LAZY = {
    "Classifier": "kstarlab.models.registry",
    "LoadedModel": "kstarlab.models.registry",
    "ModelEntry": "kstarlab.models.registry",
    "available_models": "kstarlab.models.registry",
    "classifier_head": "kstarlab.models.registry",
    "load_model": "kstarlab.models.registry",
    "read_model_config": "kstarlab.models.registry",
    "resolve_entry": "kstarlab.models.registry",
}

__all__ = [
    "Classifier",
    "LoadedModel",
    "ModelEntry",
    "available_models",
    "classifier_head",
    "load_model",
    "read_model_config",
    "resolve_entry",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kstarlab.models' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
