"""A preview grid: clean images above their perturbed versions (``kstarlab perturb``)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from kstarlab.errors import InputError

PREVIEW_SUFFIXES = (".png", ".pdf", ".svg")
# No timestamps or software versions in the file: the same images give the same bytes.
_METADATA = {
    ".png": {"Software": None},
    ".pdf": {"Creator": None, "Producer": None, "CreationDate": None},
    ".svg": {"Date": None, "Creator": None},
}


def save_preview(
    clean: torch.Tensor,
    perturbed: torch.Tensor,
    path: str | os.PathLike[str],
    *,
    title: str,
    labels: Sequence[int] | None = None,
    clean_predictions: Sequence[int] | None = None,
    predictions: Sequence[int] | None = None,
    class_names: Sequence[str] | None = None,
) -> Path:
    """Write a 2×N grid (clean row, perturbed row) to ``path`` (.png, .pdf or .svg), atomically."""
    path = Path(path)
    if path.suffix.lower() not in PREVIEW_SUFFIXES:
        raise InputError(f"preview {path} must end in {', '.join(PREVIEW_SUFFIXES)}")
    from kstarlab.figures import plt
    from kstarlab.io import atomic_path

    n = clean.shape[0]
    fig, axes = plt.subplots(2, n, figsize=(1.3 * n + 0.6, 3.6), squeeze=False)

    def name(k: int) -> str:
        return class_names[k] if class_names is not None and 0 <= k < len(class_names) else str(k)

    for row, (images, preds) in enumerate(((clean, clean_predictions), (perturbed, predictions))):
        for col in range(n):
            ax = axes[row][col]
            ax.imshow(images[col].detach().cpu().permute(1, 2, 0).clamp(0, 1).numpy())
            ax.set_xticks([])
            ax.set_yticks([])
            if preds is not None:
                ok = labels is None or int(preds[col]) == int(labels[col])
                ax.set_title(f"→ {name(int(preds[col]))}", fontsize=8, color="k" if ok else "r")
            elif row == 0 and labels is not None:
                ax.set_title(name(int(labels[col])), fontsize=8)
        axes[row][0].set_ylabel("clean" if row == 0 else "perturbed", fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    suffix = path.suffix.lower()
    plt.rcParams["svg.hashsalt"] = "kstarlab"
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=suffix[1:], dpi=150, metadata=_METADATA[suffix])
    finally:
        plt.close(fig)
    return path


@dataclass
class Preview:
    """What `preview_transform` wrote and measured."""

    path: Path
    transform: str  # the transform's canonical name
    n: int  # images in the grid
    dataset: str
    clean_accuracy: float | None = None  # with a model: accuracy on the clean images
    accuracy: float | None = None  # ... and on the perturbed ones
    attack_success_rate: float | None = None  # PGD's, when the transform reports it


def preview_transform(
    transform: str,
    out: str | os.PathLike[str],
    *,
    dataset: str = "digits",
    root: str | os.PathLike[str] | None = None,
    split: str = "test",
    resize: int = 256,
    crop: int = 224,
    class_map: str | None = None,
    n: int = 8,
    seed: int = 0,
    model: str | None = None,
    weights: str | None = None,
    num_classes: int | None = None,
    trusted: bool = False,
    settings: Mapping[str, Any] | None = None,
    source: str = "options",
) -> Preview:
    """Apply ``transform`` to the first ``n`` images of a dataset and write the grid to ``out``.

    ``settings`` are `PerturbConfig` fields (PGD, AdaIN), named ``source`` in errors.
    ``model`` (a checkpoint, a zoo arch or a torchvision name; see `load_model`) is needed
    by gradient transforms (PGD) and gives the clean and perturbed predictions; with a
    ``class_map`` its decision is the category's (`kstarlab.models.classmap`). A crop of an image
    folder is taken from the raw image, as extraction does (`bind_transform`).
    """
    from kstarlab.latents.datasets import load_dataset
    from kstarlab.latents.transforms import bind_transform
    from kstarlab.perturb.core import PerturbConfig, apply_transform, parse_transform

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InputError(f"n must be a positive integer, got {n!r}")
    config = PerturbConfig.from_dict(dict(settings or {}), source)
    tf = parse_transform(transform, seed=seed, config=config)
    if tf.needs_grad and not model:
        raise InputError(
            f"transform {tf.name} needs --model (a checkpoint from kstarlab train, "
            "a zoo arch or a torchvision name)"
        )
    data = load_dataset(
        dataset, root=root, split=split, seed=0, resize=resize, crop=crop, class_map=class_map
    )
    n = min(n, len(data))
    samples = [data.dataset[i] for i in range(n)]
    images = torch.stack([image for image, _ in samples])
    labels = torch.tensor([label for _, label in samples], dtype=torch.long)
    decision = None
    if model:
        from kstarlab.models import load_model
        from kstarlab.models.classmap import decision_model

        loaded = load_model(model, weights=weights, trusted=trusted, num_classes=num_classes)
        # The dataset's decision: with a class map, outputs are categories (kstarlab.models.classmap).
        decision = decision_model(loaded.module, data.output_groups, f"class map {class_map}")
    _, bound = bind_transform(tf, data)
    if bound is not data:  # done while loading: a crop of an image folder's raw images
        perturbed, info = torch.stack([bound.dataset[i][0] for i in range(n)]), {}
    else:
        perturbed, info = apply_transform(
            images, tf, labels=labels, indices=torch.arange(n), model=decision
        )
    clean_pred = pred = None
    if decision is not None:
        with torch.no_grad():
            clean_pred = decision(images).argmax(dim=1)
            pred = decision(perturbed).argmax(dim=1)
    title = tf.name
    if tf.spec.family == "style-fda":
        title += " (Fourier proxy, not AdaIN)"
    if bound is not data:
        title += " (of the raw image)"
    path = save_preview(
        images,
        perturbed,
        out,
        title=title,
        labels=labels.tolist(),
        clean_predictions=None if clean_pred is None else clean_pred.tolist(),
        predictions=None if pred is None else pred.tolist(),
        class_names=data.class_names,
    )
    result = Preview(path=path, transform=tf.name, n=n, dataset=data.name)
    if clean_pred is not None and pred is not None:
        result.clean_accuracy = float((clean_pred == labels).float().mean())
        result.accuracy = float((pred == labels).float().mean())
    if "attack_success_rate" in info:
        result.attack_success_rate = float(info["attack_success_rate"])
    return result


def read_perturb_config(path: str | os.PathLike[str] | None) -> dict[str, Any]:
    """The ``perturb:`` mapping of a YAML config (safe loader); empty without a file."""
    if path is None:
        return {}
    from kstarlab.io import read_yaml

    file = Path(path)
    data = read_yaml(file)
    section = data.get("perturb") if isinstance(data, dict) else None
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise InputError(f"config {file}: 'perturb' must be a mapping")
    return dict(section)
