"""One label space for class-mapped datasets: the mapped decision everything uses.

A class map (`kstarlab.latents.datasets.read_class_map`) says which model outputs make up each of a
dataset's categories; 16-class-ImageNet groups ResNet-50's 1,000 ImageNet outputs into 16
entry-level categories by their WordNet classes (Geirhos et al. 2018). A category's score
is the mean softmax probability of its outputs, and the prediction is the category with the
highest score (Geirhos et al.'s rule). Predictions, accuracy, PGD's loss and its success
all use this one decision, through `mapped_log_probs`:

    s_k(x) = log( (1/|G_k|) · Σ_{j ∈ G_k} softmax(z(x))_j )

`MappedDecision` wraps a model so that its outputs *are* ``s(x)``: an attack or a transform
given the wrapper works on categories (label k means category k, never output k), and its
cross-entropy on ``s`` is the negative log of the true category's mean probability.
Computed in float64 with log-sum-exp, so a category of one output is that output's
log-softmax exactly and a tiny probability does not underflow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from kstarlab.errors import InputError

Groups = Sequence[Sequence[int]]


def check_groups(groups: Groups, num_outputs: int, where: str = "the class map") -> None:
    """Every group is a non-empty list of outputs ``0..num_outputs - 1``."""
    for k, group in enumerate(groups):
        if len(group) == 0:
            raise InputError(f"{where}: category {k} has no model outputs")
    low = min(min(group) for group in groups)
    top = max(max(group) for group in groups)
    if low < 0 or top >= num_outputs:
        bad = top if top >= num_outputs else low
        raise InputError(f"{where} uses output {bad}, the model has {num_outputs}")


def mapped_log_probs(
    logits: torch.Tensor, groups: Groups, where: str = "the class map"
) -> torch.Tensor:
    """(N, K) float64: the log of each category's mean softmax probability over its outputs.

    ``logits`` is (N, C); ``groups[k]`` lists the outputs of category k (``where`` names
    the map in errors). Differentiable.
    """
    if logits.ndim != 2:
        raise InputError(f"logits must be (samples, outputs), got shape {tuple(logits.shape)}")
    check_groups(groups, int(logits.shape[1]), where)
    log_p = torch.log_softmax(logits.double(), dim=1)
    columns = []
    for group in groups:
        index = torch.as_tensor(list(group), dtype=torch.long, device=logits.device)
        columns.append(torch.logsumexp(log_p.index_select(1, index), dim=1) - math.log(len(group)))
    return torch.stack(columns, dim=1)


def mapped_predict(logits: torch.Tensor, groups: Groups | None) -> torch.Tensor:
    """Predicted labels: the arg-max output, or with a class map, the category whose outputs
    have the highest mean softmax probability (the arg-max of `mapped_log_probs`)."""
    if groups is None:
        return logits.argmax(dim=1)
    return mapped_log_probs(logits, groups).argmax(dim=1)


class MappedDecision(nn.Module):
    """``model`` seen through a class map: its outputs are `mapped_log_probs` of the
    model's outputs, one column per category, so label k addresses category k.

    Takes the wrapped model's training mode, and shares its parameters and mode: PGD's
    ``eval()`` and ``requires_grad_(False)`` reach the model and are restored through it.
    """

    def __init__(self, model: nn.Module, groups: Groups, where: str = "the class map") -> None:
        super().__init__()
        if not isinstance(model, nn.Module):
            raise InputError("the model of a class-mapped decision must be a torch nn.Module")
        if isinstance(model, MappedDecision):
            raise InputError("the model already maps its outputs to categories")
        if not groups:
            raise InputError("a class map needs at least one category")
        self.model = model
        self.groups = tuple(tuple(int(i) for i in group) for group in groups)
        self.where = where
        self.train(model.training)

    @property
    def num_categories(self) -> int:
        return len(self.groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return mapped_log_probs(self.model(x), self.groups, self.where)

    def extra_repr(self) -> str:
        return f"categories={len(self.groups)}"


def decision_model(
    model: nn.Module, groups: Groups | None, where: str = "the class map"
) -> nn.Module:
    """The model whose arg-max is the dataset's prediction: ``model`` itself without a class
    map, else the `MappedDecision` over ``groups``. Attacks and transforms get this one;
    ``where`` names the class map in errors."""
    if groups is None:
        return model
    return MappedDecision(model, groups, where)
