"""Per-sample robustness: to corruptions, and to global magnitude pruning of the weights.

- Corruption robustness of a sample: the fraction of (corruption, severity) pairs under
  which the model's prediction stays correct.
- Pruning robustness of a sample: the fraction of sparsity levels at which the pruned
  model's prediction stays correct, and the first sparsity at which its prediction
  flips away from the dense model's (NaN when it never flips on the tested grid).

Pruning is global unstructured L1 magnitude pruning of every conv and linear weight
(``torch.nn.utils.prune.global_unstructured``), made permanent on a copy of the model.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn.utils import prune

from kstarlab.errors import InputError

PRUNABLE = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


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


def prunable_parameters(model: nn.Module) -> list[tuple[nn.Module, str]]:
    """Every (module, "weight") of the model's conv and linear layers."""
    params = [(m, "weight") for m in model.modules() if isinstance(m, PRUNABLE)]
    if not params:
        raise InputError(f"model {type(model).__name__} has no conv or linear weights to prune")
    return params


def global_magnitude_prune(model: nn.Module, sparsity: float) -> nn.Module:
    """A copy of ``model`` with the smallest-magnitude ``sparsity`` share of all conv and
    linear weights set to zero (one global L1 threshold across layers)."""
    if not 0.0 <= sparsity < 1.0:
        raise InputError(f"sparsity must lie in [0, 1), got {sparsity}")
    pruned = copy.deepcopy(model)
    params = prunable_parameters(pruned)
    if sparsity > 0:
        prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=sparsity)
        for module, name in params:
            prune.remove(module, name)
    return pruned


def weight_sparsity(model: nn.Module) -> float:
    """Share of zeros among all conv and linear weights."""
    params = prunable_parameters(model)
    zeros = sum(int((getattr(m, n) == 0).sum()) for m, n in params)
    total = sum(getattr(m, n).numel() for m, n in params)
    return zeros / total


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
