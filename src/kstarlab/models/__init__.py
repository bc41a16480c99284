"""Models: the embedded zoo, torchvision architectures, checkpoints and the registry."""

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
