"""A preview grid: clean images above their perturbed versions."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

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
