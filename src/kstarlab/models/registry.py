"""The model registry: a model name → architecture, weights source and preprocessing.

A name is, in order of precedence:

1. an entry of a models config (YAML ``models: {name: {arch, weights, trusted, ...}}``);
2. a kstarlab checkpoint file (``.pt`` written by ``kstarlab train``; it records its arch);
3. a zoo architecture (``resnet``, ``vit``, ``mlp``) or any torchvision classification
   model (``resnet50``, ``vit_b_16``, ...).

Weights are ``None``/``"none"`` (random initialisation, seeded), a checkpoint file, or for
torchvision architectures a weights enum name resolved from the local torch hub cache.
Every model is wrapped in `Classifier`, which normalises [0, 1] images itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from kstarlab.errors import InputError
from kstarlab.models.checkpoints import (
    apply_state_dict,
    extract_state_dict,
    file_sha256,
    read_checkpoint,
)
from kstarlab.models.pretrained import (
    Preprocessing,
    build_torchvision,
    cached_weights_file,
    looks_like_weights_enum,
    preprocessing_for,
    torchvision_names,
    weights_enum,
)
from kstarlab.models.zoo import INPUT_SIZE, ZOO, build_zoo_model
from kstarlab.names import (
    TRAINING_KEYS,
    WEIGHT_SUFFIXES,
    is_no_weights,
    looks_like_weights_name,
)
from kstarlab.paths import trained_checkpoint

ZOO_PREPROCESSING = Preprocessing(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), crop=INPUT_SIZE)


class Classifier(nn.Module):
    """``net`` behind a fixed per-channel normalisation: takes images in [0, 1].

    Layer names are those of ``net`` (the torchvision-style architecture).
    """

    def __init__(self, net: nn.Module, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / self.std)


@dataclass
class ModelEntry:
    """How to build one model: the config entry (or command-line equivalent)."""

    name: str
    arch: str
    weights: str | None = None
    trusted: bool = False
    num_classes: int | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    regime: str | None = None  # set for a zoo model the workflow trains (its checkpoint)

    @classmethod
    def from_dict(cls, name: str, entry: Any, source: str = "config") -> ModelEntry:
        """Validate a config mapping ``{arch, weights, trusted, num_classes, mean, std}``.

        A project config's entries are accepted as they are: the training keys of a model
        the workflow trains (``regime``, ``epochs``, ...) and its ``dataset`` are known, and
        such a model's weights are the checkpoint the workflow wrote.
        """
        if not isinstance(entry, dict):
            raise InputError(f"{source}: model {name!r} must be a mapping with at least 'arch'")
        allowed = {f.name for f in fields(cls)} - {"name"} | set(TRAINING_KEYS) | {"dataset"}
        unknown = sorted(set(entry) - allowed)
        if unknown:
            raise InputError(
                f"{source}: model {name!r} has unknown key {unknown[0]!r} "
                f"(allowed: {', '.join(sorted(allowed))})"
            )
        if not isinstance(entry.get("arch"), str):
            raise InputError(f"{source}: model {name!r} needs 'arch' (a zoo or torchvision name)")
        trusted = entry.get("trusted", False)
        if not isinstance(trusted, bool):
            raise InputError(f"{source}: model {name!r}: 'trusted' must be true or false")
        weights = entry.get("weights")
        if weights is not None and not isinstance(weights, (str, os.PathLike)):
            raise InputError(f"{source}: model {name!r}: 'weights' must be a path or enum name")
        num_classes = entry.get("num_classes")
        if num_classes is not None and (
            isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1
        ):
            raise InputError(f"{source}: model {name!r}: 'num_classes' must be a positive integer")
        stats = {}
        for key in ("mean", "std"):
            value = entry.get(key)
            if value is not None:
                if not isinstance(value, list) or not all(
                    isinstance(v, (int, float)) for v in value
                ):
                    raise InputError(f"{source}: model {name!r}: {key!r} must be a list of numbers")
                stats[key] = tuple(float(v) for v in value)
        return cls(
            name=name,
            arch=entry["arch"],
            weights=None if weights is None else str(weights),
            trusted=trusted,
            num_classes=num_classes,
            regime=entry.get("regime"),
            **stats,
        )


@dataclass
class LoadedModel:
    """A ready model in eval mode, with what extraction records about it."""

    name: str
    arch: str
    source: str  # "zoo" or "torchvision"
    module: Classifier
    preprocessing: Preprocessing
    weights: str  # description: a path, an enum name, or random init
    weights_sha256: str | None
    num_classes: int
    class_names: list[str] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def net(self) -> nn.Module:
        """The architecture itself (layer names refer to it)."""
        return self.module.net

    @property
    def fixed_input_size(self) -> int | None:
        """The only image size the model accepts (ViTs), else ``None``."""
        size = getattr(self.net, "image_size", None)
        return int(size) if isinstance(size, int) else None


def available_models(config: dict[str, ModelEntry] | None = None) -> dict[str, list[str]]:
    """Model names by kind: ``config`` entries, ``zoo`` and ``torchvision`` architectures."""
    return {
        "config": sorted(config or {}),
        "zoo": list(ZOO),
        "torchvision": list(torchvision_names()),
    }


def read_model_config(path: str | os.PathLike[str]) -> dict[str, ModelEntry]:
    """The ``models:`` mapping of a YAML config file (read with the safe loader)."""
    from kstarlab.io import read_yaml

    path = Path(path)
    data = read_yaml(path)
    models = (data or {}).get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict):
        raise InputError(f"config {path} has no 'models' mapping")
    return {str(n): ModelEntry.from_dict(str(n), e, str(path)) for n, e in models.items()}


def resolve_entry(
    name: str | os.PathLike[str],
    *,
    config: dict[str, ModelEntry] | None = None,
    weights: str | os.PathLike[str] | None = None,
    trusted: bool = False,
    num_classes: int | None = None,
) -> ModelEntry:
    """The `ModelEntry` for ``name``; explicit ``weights``/``trusted``/``num_classes`` win."""
    text = str(name)
    if config and text in config:
        base = config[text]
    elif text.lower().endswith(WEIGHT_SUFFIXES) and Path(text).is_file():
        meta = read_checkpoint(text, trusted=trusted)
        arch = meta.get("kstarlab", {}).get("arch") if isinstance(meta, dict) else None
        if not isinstance(arch, str):
            raise InputError(
                f"cannot tell the architecture of {text}: pass --model ARCH --weights {text}"
            )
        base = ModelEntry(name=Path(text).stem, arch=arch, weights=text)
    elif text in ZOO or text in torchvision_names():
        base = ModelEntry(name=text, arch=text)
    else:
        raise InputError(f"unknown model {text!r}; available: {_listing(config)}")
    entry = ModelEntry(**{f.name: getattr(base, f.name) for f in fields(ModelEntry)})
    if weights is not None:
        entry.weights = str(weights)
    entry.trusted = entry.trusted or trusted
    if num_classes is not None:
        entry.num_classes = num_classes
    if entry.regime is not None and entry.weights is None:
        entry.weights = trained_checkpoint(entry.name)
        if not Path(entry.weights).is_file():
            raise InputError(
                f"model {entry.name!r} is trained by the workflow ({entry.regime}), and "
                f"{entry.weights} does not exist yet: run `make run` (or `snakemake "
                f"{entry.weights}`) first, or pass --weights"
            )
    return entry


def load_model(
    name: str | os.PathLike[str] | ModelEntry,
    *,
    config: dict[str, ModelEntry] | None = None,
    weights: str | os.PathLike[str] | None = None,
    trusted: bool = False,
    num_classes: int | None = None,
    seed: int = 0,
) -> LoadedModel:
    """Build a model by name, load its weights and return it in eval mode."""
    entry = (
        name
        if isinstance(name, ModelEntry)
        else resolve_entry(
            name, config=config, weights=weights, trusted=trusted, num_classes=num_classes
        )
    )
    if entry.arch in ZOO:
        loaded = _load_zoo(entry, seed)
    elif entry.arch in torchvision_names():
        loaded = _load_torchvision(entry, seed)
    else:
        raise InputError(
            f"model {entry.name!r}: unknown arch {entry.arch!r}; available: {_listing(None)}"
        )
    if entry.mean is not None or entry.std is not None:
        pre = loaded.preprocessing
        mean, std = entry.mean or pre.mean, entry.std or pre.std
        loaded.preprocessing = Preprocessing(mean, std, pre.crop, pre.resize)
        loaded.module = Classifier(loaded.net, mean, std)
    loaded.module.eval()
    return loaded


def classifier_head(net: nn.Module) -> tuple[str, nn.Linear] | None:
    """The final linear classifier (name, module): the last ``nn.Linear`` in ``net``.

    Its input is the penultimate feature vector (``avgpool``); its weight and bias are the
    class directions W and offsets b. ``None`` when the network ends otherwise.
    """
    last = None
    for module_name, module in net.named_modules():
        if isinstance(module, nn.Linear):
            last = (module_name, module)
    return last


def _seeded_build(build, seed: int) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def _load_zoo(entry: ModelEntry, seed: int) -> LoadedModel:
    metadata: dict[str, Any] = {}
    state = None
    sha = None
    if is_no_weights(entry.weights):
        description = f"none (random init, seed {seed})"
    else:
        path = Path(str(entry.weights))
        if not path.is_file() and not path.suffix:
            raise InputError(
                f"model {entry.name!r}: zoo weights must be a checkpoint file, got {entry.weights!r}"
            )
        obj = read_checkpoint(path, trusted=entry.trusted)
        if isinstance(obj, dict) and isinstance(obj.get("kstarlab"), dict):
            metadata = dict(obj["kstarlab"])
            trained_arch = metadata.get("arch")
            if trained_arch is not None and trained_arch != entry.arch:
                raise InputError(
                    f"weights {path} belong to zoo arch {trained_arch!r}, not {entry.arch!r}"
                )
        state = extract_state_dict(obj, str(path))
        description, sha = str(path), file_sha256(path)
    num_classes = entry.num_classes or int(metadata.get("num_classes", 10))
    net = _seeded_build(lambda: build_zoo_model(entry.arch, num_classes), seed)
    if state is not None:
        apply_state_dict(net, state, description)
    pre = ZOO_PREPROCESSING
    class_names = metadata.get("class_names")
    return LoadedModel(
        name=entry.name,
        arch=entry.arch,
        source="zoo",
        module=Classifier(net, pre.mean, pre.std),
        preprocessing=pre,
        weights=description,
        weights_sha256=sha,
        num_classes=num_classes,
        class_names=list(class_names) if isinstance(class_names, list) else None,
        metadata=metadata,
    )


def _load_torchvision(entry: ModelEntry, seed: int) -> LoadedModel:
    arch = entry.arch
    enum = None
    state = None
    sha = None
    if is_no_weights(entry.weights):
        description = f"none (random init, seed {seed})"
    else:
        spec = str(entry.weights)
        if looks_like_weights_enum(arch, spec) or looks_like_weights_name(spec):
            enum = weights_enum(arch, spec)
            path = cached_weights_file(enum)
            description = f"{type(enum).__name__}.{enum.name} ({path})"
        else:
            path = Path(spec)
            description = str(path)
        state = extract_state_dict(read_checkpoint(path, trusted=entry.trusted), str(path))
        sha = file_sha256(path)
    num_classes = entry.num_classes
    class_names = None
    if enum is not None:
        class_names = list(enum.meta.get("categories") or []) or None
        num_classes = num_classes or (len(class_names) if class_names else None)
    if num_classes is None and state is not None:
        num_classes = _head_size(arch, state)
    num_classes = num_classes or 1000
    pretrained = state is not None
    net = _seeded_build(lambda: build_torchvision(arch, num_classes, pretrained), seed)
    if state is not None:
        apply_state_dict(net, state, description)
    pre = preprocessing_for(arch, enum)
    return LoadedModel(
        name=entry.name,
        arch=arch,
        source="torchvision",
        module=Classifier(net, pre.mean, pre.std),
        preprocessing=pre,
        weights=description,
        weights_sha256=sha,
        num_classes=num_classes,
        class_names=class_names,
    )


def _head_size(arch: str, state: dict[str, torch.Tensor]) -> int | None:
    """The number of classes a checkpoint was trained for, read off its linear head."""
    with torch.device("meta"):
        probe = build_torchvision(arch, 1000)
    head = classifier_head(probe)
    if head is None:
        return None
    weight = state.get(f"{head[0]}.weight")
    return int(weight.shape[0]) if isinstance(weight, torch.Tensor) and weight.ndim == 2 else None


def _listing(config: dict[str, ModelEntry] | None) -> str:
    names = available_models(config)
    parts = []
    if names["config"]:
        parts.append("config: " + ", ".join(names["config"]))
    parts.append("zoo: " + ", ".join(names["zoo"]))
    parts.append("torchvision: " + ", ".join(names["torchvision"]))
    return "; ".join(parts)
