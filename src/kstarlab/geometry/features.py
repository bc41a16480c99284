"""Per-sample angle, length and margin of last-layer features against the classifier.

For the input x of the final linear classifier z = W x + b and the true class y:

- angle  = the angle in degrees between x and the class direction W_y;
- length = ||x||_2;
- margin = min over j != y of ((W_y - W_j) . x + b_y - b_j) / ||W_y - W_j||_2, the signed
  L2 distance from x to the nearest decision boundary of class y. It is negative exactly
  when another class scores strictly higher (the sample is misclassified) and 0 on a tie.

Everything is computed in float64 from the classifier's weights: no forward pass needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from kstarlab.errors import InputError


@dataclass(frozen=True)
class GeometricFeatures:
    """Per-sample features; ``angles_all[i, k]`` is the angle of sample i to class k."""

    angle: np.ndarray
    length: np.ndarray
    margin: np.ndarray
    angles_all: np.ndarray
    predictions: np.ndarray

    def as_frame(self) -> Any:
        """A pandas DataFrame with one row per sample (without ``angles_all``)."""
        import pandas as pd

        return pd.DataFrame(
            {
                "angle": self.angle,
                "length": self.length,
                "margin": self.margin,
                "prediction": self.predictions,
            }
        )


def linear_head(model: nn.Module) -> tuple[str, np.ndarray, np.ndarray]:
    """Name, weight (C, D) and bias (C,) of the model's final linear classifier.

    The classifier is the last leaf module in registration order (``fc`` of a ResNet,
    ``heads.head`` of a ViT, ``classifier.1`` of an EfficientNet). A model whose last
    layer is not ``nn.Linear`` is refused with the layer's name.
    """
    leaves = [(name, mod) for name, mod in model.named_modules() if not list(mod.children())]
    if not leaves:
        raise InputError(f"model {type(model).__name__} has no layers")
    name, last = leaves[-1]
    if not isinstance(last, nn.Linear):
        raise InputError(
            f"the last layer {name!r} of {type(model).__name__} is {type(last).__name__}, "
            "not a linear classifier; geometric features need one"
        )
    weight = last.weight.detach().to("cpu", torch.float64).numpy()
    if last.bias is None:
        bias = np.zeros(weight.shape[0])
    else:
        bias = last.bias.detach().to("cpu", torch.float64).numpy()
    return name, weight, bias


def _angles(x: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Angles in degrees between rows of x and rows of ``directions``, (N, C).

    Uses Kahan's formula 2 atan2(|u - v|, |u + v|) on unit vectors, accurate for angles
    near 0 and 180 degrees where arccos of a dot product loses half its digits.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        u = x / np.linalg.norm(x, axis=1, keepdims=True)
        v = directions / np.linalg.norm(directions, axis=1, keepdims=True)
    # |u - v|^2 = 2 - 2 u.v is inaccurate for close vectors; build both norms directly.
    out = np.empty((x.shape[0], directions.shape[0]))
    for k in range(directions.shape[0]):
        diff = np.linalg.norm(u - v[k], axis=1)
        summ = np.linalg.norm(u + v[k], axis=1)
        out[:, k] = 2.0 * np.arctan2(diff, summ)
    return np.degrees(out)


def _pairwise_boundary_norms(weight: np.ndarray) -> np.ndarray:
    """||W_k - W_j||_2 for every pair of classes, (C, C), computed by direct differences."""
    c = weight.shape[0]
    norms = np.empty((c, c))
    for k in range(c):
        norms[k] = np.linalg.norm(weight[k] - weight, axis=1)
    return norms


def geometric_features(
    x: Any,
    weight: Any,
    bias: Any,
    y: Any,
    *,
    layer: str = "features",
    head: str = "classifier",
) -> GeometricFeatures:
    """Angle, length, margin (and angles to every class) for every sample.

    ``x`` is (N, D), ``weight`` (C, D), ``bias`` (C,), ``y`` (N,) labels in [0, C).
    ``layer`` and ``head`` only name things in error messages. A zero feature vector has
    an undefined angle (NaN); a class pair with identical weight rows has no boundary and
    is skipped unless the bias difference decides it.
    """
    x = np.asarray(x, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    bias = np.asarray(bias, dtype=np.float64)
    labels = np.asarray(y)
    if x.ndim != 2 or x.shape[0] == 0:
        raise InputError(
            f"features of layer {layer!r} must be a non-empty (N, D) matrix, got {x.shape}"
        )
    if weight.ndim != 2 or weight.shape[0] < 2:
        raise InputError(
            f"classifier {head!r} must have a (C, D) weight with C >= 2, got {weight.shape}"
        )
    if x.shape[1] != weight.shape[1]:
        raise InputError(
            f"features of layer {layer!r} have {x.shape[1]} dimensions, but classifier "
            f"{head!r} expects {weight.shape[1]}: is {layer!r} the classifier's input?"
        )
    if bias.shape != (weight.shape[0],):
        raise InputError(f"bias of {head!r} has shape {bias.shape}, expected ({weight.shape[0]},)")
    if labels.shape != (x.shape[0],):
        raise InputError(f"y has shape {labels.shape}, expected ({x.shape[0]},)")
    if labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() >= weight.shape[0]:
        raise InputError(f"y must hold integer labels in [0, {weight.shape[0]})")
    if not np.isfinite(x).all():
        row = int(np.flatnonzero(~np.isfinite(x).all(axis=1))[0])
        raise InputError(f"features of layer {layer!r} contain NaN or infinity at row {row}")

    n = x.shape[0]
    rows = np.arange(n)
    logits = x @ weight.T + bias
    angles_all = _angles(x, weight)
    length = np.linalg.norm(x, axis=1)
    # Signed distance to every boundary {v : (W_y - W_j) v + b_y - b_j = 0}.
    gap = logits[rows, labels][:, None] - logits  # (N, C): z_y - z_j
    norms = _pairwise_boundary_norms(weight)[labels]  # (N, C): ||W_y - W_j||
    with np.errstate(divide="ignore", invalid="ignore"):
        dist = gap / norms
    degenerate = norms == 0  # identical weight rows: the bias alone decides
    dist[degenerate] = np.where(gap[degenerate] < 0, -np.inf, np.inf)
    dist[rows, labels] = np.inf
    margin = dist.min(axis=1)
    return GeometricFeatures(
        angle=angles_all[rows, labels],
        length=length,
        margin=margin,
        angles_all=angles_all,
        predictions=logits.argmax(axis=1),
    )


@torch.no_grad()
def head_inputs(
    model: nn.Module, head: nn.Module, images: torch.Tensor, batch: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs of ``head`` (the final linear layer of ``model``) and the predictions, by a
    forward hook, for [0, 1] ``images`` run through ``model`` in batches."""
    captured: list[torch.Tensor] = []
    handle = head.register_forward_hook(
        lambda _m, inp, _out: captured.append(inp[0].detach().flatten(1))
    )
    preds = []
    try:
        model.eval()
        for s in range(0, len(images), batch):
            preds.append(model(images[s : s + batch]).argmax(dim=1))
    finally:
        handle.remove()
    return torch.cat(captured).double().numpy(), torch.cat(preds).numpy()


def model_features(
    model: nn.Module, images: torch.Tensor, y: Any, *, batch_size: int = 256
) -> GeometricFeatures:
    """Angle, length and margin of ``images`` in ``model``'s last layer, computed from the
    input of its final linear classifier (`linear_head`; a wrapper's ``net`` is searched,
    so a `kstarlab.models.Classifier` with its normalisation works)."""
    net = getattr(model, "net", model)
    name, weight, bias = linear_head(net)
    head = net.get_submodule(name) if name else net
    x, _ = head_inputs(model, head, images, batch_size)
    return geometric_features(x, weight, bias, y, layer=f"input of {name}", head=name)
