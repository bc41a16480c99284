"""Multi-prize tickets: masks learned over frozen signed random weights (edge-popup).

Ramanujan et al. (2020) and Diffenderfer & Kailkhura (2021): every conv and linear weight
is frozen at a signed constant, ``±gain / sqrt(fan_in · (1 − s))`` (Kaiming's standard
deviation for ReLU, with edge-popup's ``scale_fan`` so that a layer keeping a share
(1 − s) of its inputs keeps its activations' scale), the sign drawn from the seeded
normal initialisation. Only one score per weight is trained; the forward pass uses
``weight ⊙ mask`` where the mask keeps the top (1 − s) of |score| in each layer
(``round(s · n)`` zeros), and the mask's gradient passes straight through to the scores.

Everything else stays at its initialisation and is frozen too: biases of the prunable
layers are zero, and batch norm's affine weight and bias are fixed at 1 and 0 (edge-popup's
non-affine batch norm); its running statistics are still updated while training. The
result is exported as a plain model whose weight is ``init ⊙ mask`` (`export_subnetwork`).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import parametrize

from kstarlab.pruning.masks import Masks, check_sparsity, layer_masks, prunable_layers

_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm)


class _StraightThrough(torch.autograd.Function):
    """The top-k mask of |scores| forward; the gradient unchanged backward."""

    @staticmethod
    def forward(ctx, magnitude: torch.Tensor, sparsity: float) -> torch.Tensor:
        return layer_masks({"": magnitude}, sparsity)[""].to(magnitude.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad, None


class ScoreMask(nn.Module):
    """Parametrization ``weight ↦ weight ⊙ topk(|scores|)`` with trainable ``scores``."""

    def __init__(self, scores: torch.Tensor, sparsity: float) -> None:
        super().__init__()
        self.scores = nn.Parameter(scores)
        self.sparsity = check_sparsity(sparsity)

    def mask(self) -> torch.Tensor:
        """The current bool mask."""
        return layer_masks({"": self.scores.detach()}, self.sparsity)[""]

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight * _StraightThrough.apply(self.scores.abs(), self.sparsity)


@torch.no_grad()
def signed_constant_(model: nn.Module, sparsity: float) -> None:
    """Set every conv and linear weight to ``sign(kaiming normal) · gain / sqrt(fan_in ·
    (1 − s))`` in place (draws from torch's global generator: seed it first)."""
    keep = 1.0 - check_sparsity(sparsity)
    gain = nn.init.calculate_gain("relu")
    for module in prunable_layers(model).values():
        weight = module.weight
        nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="relu")
        fan_in = nn.init._calculate_fan_in_and_fan_out(weight)[0]
        weight.copy_(weight.sign() * (gain / math.sqrt(fan_in * keep)))


def attach_scores(model: nn.Module, sparsity: float) -> list[nn.Parameter]:
    """Freeze ``model`` (prunable biases zeroed, norms' affine at 1 and 0) and give each
    conv and linear weight trainable edge-popup scores (Kaiming-uniform, from torch's
    global generator); returns the scores, the only parameters to train."""
    sparsity = check_sparsity(sparsity)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, _NORMS) and getattr(module, "weight", None) is not None:
                module.weight.fill_(1.0)
                module.bias.fill_(0.0)
    layers = prunable_layers(model)
    with torch.no_grad():
        for module in layers.values():
            if module.bias is not None:
                module.bias.zero_()
    for param in model.parameters():
        param.requires_grad_(False)
    scores = []
    for module in layers.values():
        init = torch.empty_like(module.weight)
        nn.init.kaiming_uniform_(init, a=math.sqrt(5))
        mask = ScoreMask(init, sparsity)
        parametrize.register_parametrization(module, "weight", mask, unsafe=True)
        scores.append(mask.scores)
    return scores


def score_masks(model: nn.Module) -> Masks:
    """The current mask of each scored layer."""
    return {name: _score_mask(m).mask() for name, m in prunable_layers(model).items()}


def scores_of(model: nn.Module) -> dict[str, torch.Tensor]:
    """The scores of each scored layer (live parameters)."""
    return {name: _score_mask(m).scores for name, m in prunable_layers(model).items()}


def frozen_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """The frozen (unmasked) weight of each scored layer, cloned."""
    return {
        name: m.parametrizations.weight.original.detach().clone()
        for name, m in prunable_layers(model).items()
    }


def edge_popup_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The scored model as an edge-popup state dict: ``<layer>.weight`` is the frozen
    weight and ``<layer>.scores`` its scores (the form `load_pruned` reads)."""
    layers = prunable_layers(model)
    state = {}
    for key, value in model.state_dict().items():
        layer, _, rest = key.partition(".parametrizations.weight.")
        if rest == "original":
            state[f"{layer}.weight"] = value.clone()
        elif rest == "0.scores":
            state[f"{layer}.scores"] = value.clone()
        else:
            state[key] = value.clone()
    assert all(f"{name}.scores" in state for name in layers)
    return state


def export_subnetwork(model: nn.Module) -> Masks:
    """Replace each scored weight by ``init ⊙ mask`` (a plain parameter) in place and
    return the masks."""
    masks = score_masks(model)
    for module in prunable_layers(model).values():
        # leave_parametrized: the weight becomes the forward value, init ⊙ mask, exactly.
        parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
    for param in model.parameters():
        param.requires_grad_(True)
    return masks


def _score_mask(module: nn.Module) -> ScoreMask:
    return module.parametrizations.weight[0]
