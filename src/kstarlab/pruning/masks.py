"""Pruning masks: which weights are prunable, how masks are computed, applied and measured.

The prunable weights are the ``weight`` of every conv and linear layer ("share of conv and
linear weights that are zero"); biases, norms and embeddings stay dense. A mask is a bool
tensor per prunable layer (True: the weight survives), keyed by the layer's qualified name
in the model (`Masks`).

Global masks come from ``torch.nn.utils.prune.global_unstructured`` (one L1 threshold
across layers, ``round(s · N)`` zeros out of the N prunable weights), computed on
importance scores (the weights' magnitudes by default, or SNIP's sensitivities).
Training keeps a mask fixed by zeroing the pruned weights in place before training and
after every optimizer step (`apply_masks`): the pruned weights are exactly zero in every
forward pass. Unlike prune's forward pre-hook, this also holds for weights a module's
forward does not read itself (a ViT attention's ``out_proj``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import torch
from torch import nn
from torch.nn.utils import prune

from kstarlab.errors import InputError

PRUNABLE = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)

#: A bool mask per prunable layer (True: kept), keyed by the layer's name in the model.
Masks = dict[str, torch.Tensor]


def check_sparsity(sparsity: float) -> float:
    """``sparsity`` as a float if it lies in [0, 1) (one-line `InputError` otherwise)."""
    if isinstance(sparsity, bool) or not isinstance(sparsity, int | float):
        raise InputError(f"sparsity must be a number in [0, 1), got {sparsity!r}")
    if not 0.0 <= sparsity < 1.0:
        raise InputError(f"sparsity must lie in [0, 1), got {sparsity}")
    return float(sparsity)


def prunable_parameters(model: nn.Module) -> list[tuple[nn.Module, str]]:
    """Every (module, "weight") of the model's conv and linear layers."""
    params = [(m, "weight") for m in prunable_layers(model).values()]
    if not params:
        raise InputError(f"model {type(model).__name__} has no conv or linear weights to prune")
    return params


def prunable_layers(model: nn.Module) -> dict[str, nn.Module]:
    """The model's conv and linear layers by qualified name, in module order."""
    return {name: m for name, m in model.named_modules() if isinstance(m, PRUNABLE)}


def global_masks(scores: Mapping[str, torch.Tensor], sparsity: float) -> Masks:
    """Masks dropping the ``round(s · N)`` weights of smallest ``|score|`` over all layers
    (``prune.global_unstructured`` with L1 on the scores; ties broken by torch.topk)."""
    sparsity = check_sparsity(sparsity)
    holders = {}
    for name, score in scores.items():
        holder = nn.Module()
        # contiguous: torch's global prune flattens with view(-1), which a channels-last
        # score (a weight trained channels-last, `fit`) cannot give
        contiguous = score.detach().clone(memory_format=torch.contiguous_format)
        holder.weight = nn.Parameter(contiguous, requires_grad=False)
        holders[name] = holder
    if sparsity == 0:
        return {name: torch.ones_like(s, dtype=torch.bool) for name, s in scores.items()}
    prune.global_unstructured(
        [(h, "weight") for h in holders.values()],
        pruning_method=prune.L1Unstructured,
        amount=sparsity,
    )
    return {name: h.weight_mask.bool() for name, h in holders.items()}


def magnitude_scores(model: nn.Module, masks: Masks | None = None) -> dict[str, torch.Tensor]:
    """|weight| per prunable layer; already-pruned weights (outside ``masks``) score 0, so
    a global prune to a higher sparsity removes a share of the remaining weights."""
    scores = {}
    for name, module in prunable_layers(model).items():
        score = module.weight.detach().abs()
        if masks is not None and name in masks:
            score = score * masks[name]
        scores[name] = score
    return scores


def global_magnitude_masks(model: nn.Module, sparsity: float, masks: Masks | None = None) -> Masks:
    """Global magnitude masks of ``model``'s conv and linear weights at ``sparsity``
    (previously pruned weights, outside ``masks``, are pruned first)."""
    prunable_parameters(model)
    return global_masks(magnitude_scores(model, masks), sparsity)


def layer_masks(scores: Mapping[str, torch.Tensor], sparsity: float) -> Masks:
    """Masks keeping the top ``(1 − s)`` of ``|score|`` in EACH layer (``round(s · n)``
    zeros per layer of n weights; edge-popup's per-layer top-k)."""
    sparsity = check_sparsity(sparsity)
    masks = {}
    for name, score in scores.items():
        flat = score.detach().abs().flatten()
        drop = round(sparsity * flat.numel())
        keep = torch.ones_like(flat, dtype=torch.bool)
        if drop:
            keep[torch.topk(flat, drop, largest=False).indices] = False
        masks[name] = keep.view_as(score)
    return masks


def random_masks(like: Masks, generator: torch.Generator) -> Masks:
    """Random masks with the same number of zeros as ``like`` in each layer."""
    masks = {}
    for name, mask in like.items():
        drop = int((~mask).sum())
        keep = torch.ones(mask.numel(), dtype=torch.bool)
        keep[torch.randperm(mask.numel(), generator=generator)[:drop]] = False
        masks[name] = keep.view_as(mask)
    return masks


@torch.no_grad()
def apply_masks(model: nn.Module, masks: Masks) -> None:
    """Zero the pruned weights of ``model`` in place (unknown layer names are an error)."""
    layers = prunable_layers(model)
    unknown = sorted(set(masks) - set(layers))
    if unknown:
        raise InputError(f"masks name layers the model does not have: {', '.join(unknown[:4])}")
    for name, mask in masks.items():
        weight = layers[name].weight
        if mask.shape != weight.shape:
            raise InputError(
                f"mask of {name} has shape {tuple(mask.shape)}, weight {tuple(weight.shape)}"
            )
        weight.mul_(mask.to(weight.device, weight.dtype))


def masks_of(model: nn.Module) -> Masks:
    """The model's non-zero pattern: one mask per prunable layer."""
    return {name: m.weight.detach() != 0 for name, m in prunable_layers(model).items()}


def global_magnitude_prune(model: nn.Module, sparsity: float) -> nn.Module:
    """A copy of ``model`` with the smallest-magnitude ``sparsity`` share of all conv and
    linear weights set to zero (one global L1 threshold across layers)."""
    sparsity = check_sparsity(sparsity)
    pruned = copy.deepcopy(model)
    if sparsity > 0:
        apply_masks(pruned, global_magnitude_masks(pruned, sparsity))
    else:
        prunable_parameters(pruned)
    return pruned


def weight_sparsity(model: nn.Module) -> float:
    """Share of zeros among all conv and linear weights (the measured sparsity)."""
    params = prunable_parameters(model)
    zeros = sum(int((getattr(m, n) == 0).sum()) for m, n in params)
    total = sum(getattr(m, n).numel() for m, n in params)
    return zeros / total


def layer_sparsity(model: nn.Module) -> dict[str, float]:
    """Share of zero weights in each conv and linear layer, by qualified name."""
    prunable_parameters(model)
    return {
        name: float((m.weight == 0).sum()) / m.weight.numel()
        for name, m in prunable_layers(model).items()
    }


def mask_sparsity(masks: Masks) -> float:
    """Share of pruned weights over all of ``masks``."""
    total = sum(m.numel() for m in masks.values())
    return sum(int((~m).sum()) for m in masks.values()) / total
