"""Per-sample robustness: to corruptions, and to global magnitude pruning of the weights.

- Corruption robustness of a sample: the fraction of (corruption, severity) pairs under
  which the model's prediction stays correct.
- Pruning robustness of a sample: the fraction of sparsity levels at which the pruned
  model's prediction stays correct, and the first sparsity at which its prediction
  flips away from the dense model's (NaN when it never flips on the tested grid).

Pruning is global unstructured L1 magnitude pruning of every conv and linear weight
(`kstarlab.pruning.global_magnitude_prune`, on a copy of the model).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from kstarlab.errors import InputError
from kstarlab.pruning.masks import (  # noqa: F401  (re-exported: their one home is kstarlab.pruning)
    PRUNABLE,
    global_magnitude_prune,
    prunable_parameters,
    weight_sparsity,
)


def corruption_robustness(predictions: Any, y: Any) -> np.ndarray:
    """Fraction of corrupted versions classified correctly, per sample.

    ``predictions`` is (K, N): one row per (corruption, severity) pair; ``y`` is (N,).
    """
    preds = np.asarray(predictions)
    labels = np.asarray(y)
    if preds.ndim != 2 or preds.shape[0] == 0:
        raise InputError(
            f"corruption predictions must be (n_corruptions, N) with at least one corruption, got {preds.shape}"
        )
    if preds.shape[1] != labels.shape[0]:
        raise InputError(
            f"corruption predictions cover {preds.shape[1]} samples, labels {labels.shape[0]}"
        )
    return (preds == labels[None, :]).mean(axis=0)


def pruning_robustness(
    dense_predictions: Any, pruned_predictions: Any, y: Any, sparsities: Sequence[float]
) -> pd.DataFrame:
    """Per-sample pruning robustness from predictions at each sparsity level.

    ``pruned_predictions`` is (S, N) in the order of ``sparsities`` (increasing).
    Returns columns ``prune_correct_fraction`` and ``first_flip_sparsity``.
    """
    dense = np.asarray(dense_predictions)
    preds = np.asarray(pruned_predictions)
    labels = np.asarray(y)
    levels = np.asarray(sparsities, dtype=np.float64)
    if levels.ndim != 1 or levels.size == 0:
        raise InputError("sparsities must be a non-empty list of levels")
    if np.any(np.diff(levels) <= 0):
        raise InputError(f"sparsities must increase strictly, got {levels.tolist()}")
    if preds.shape != (levels.size, labels.size) or dense.shape != labels.shape:
        raise InputError(
            f"pruned predictions must be (n_sparsities={levels.size}, N={labels.size}), "
            f"got {preds.shape}; dense {dense.shape}"
        )
    flipped = preds != dense[None, :]
    first = np.where(flipped.any(axis=0), levels[np.argmax(flipped, axis=0)], np.nan)
    return pd.DataFrame(
        {
            "prune_correct_fraction": (preds == labels[None, :]).mean(axis=0),
            "first_flip_sparsity": first,
        }
    )


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> np.ndarray:
    """Arg-max predictions of ``model`` on ``images`` in eval mode, batched."""
    model.eval()
    out = [
        model(images[s : s + batch_size]).argmax(dim=1) for s in range(0, len(images), batch_size)
    ]
    return torch.cat(out).cpu().numpy()
