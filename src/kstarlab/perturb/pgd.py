"""Untargeted L∞ PGD (Madry et al. 2018): the one implementation, for the ``pgd-<eps>``
transforms and for adversarial training.

`linf_pgd` is the attack itself: a random start in the ε-ball, then ``steps`` signed
gradient steps on the summed cross-entropy, each projected back onto the ball and the
[0, 1] image range: foolbox 3.3.4's ``LinfPGD`` step for step (the tests check it against
foolbox). `pgd_attack` runs it for the transforms: the random start is drawn per sample
from its own seed, and the attack always runs on chunks of exactly ``chunk`` samples (the
last one padded by repeating its final sample): floating-point results of a
forward/backward pass depend on the batch *size* (kernels are chosen by shape), not on a
sample's position or neighbours, so adversarials do not depend on how extraction batches
the data. The model takes [0, 1] images (normalisation inside) and is attacked in eval mode
with ``requires_grad_(False)`` on its parameters, so no gradient accumulates in the
weights; its mode and flags are restored afterwards.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from kstarlab.errors import InputError


def uniform_start(
    shape: torch.Size | tuple[int, ...],
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """U(-1, 1) draws of ``shape`` on the CPU (the same start on any device)."""
    return torch.rand(shape, generator=generator, dtype=dtype) * 2 - 1


def linf_pgd(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    eps: float,
    steps: int,
    step_size: float,
    start: torch.Tensor | None,
) -> torch.Tensor:
    """Adversarials of ``images`` (in [0, 1]) within ``eps`` in L∞ against ``labels``.

    ``start`` holds U(-1, 1) draws of the images' shape (the random start is
    ``images + eps * start``), or None to start at the images. Only the input gets
    gradients; the caller chooses the model's mode.
    """
    x0 = images.detach()
    adv = x0 if start is None else (x0 + eps * start.to(x0.device, x0.dtype)).clamp(0, 1)
    for _ in range(steps):
        adv = adv.detach().requires_grad_(True)
        with torch.enable_grad():
            loss = F.cross_entropy(model(adv), labels, reduction="sum")
            (grad,) = torch.autograd.grad(loss, adv)
        with torch.no_grad():
            adv = adv + step_size * grad.sign()
            adv = (x0 + (adv - x0).clamp(-eps, eps)).clamp(0, 1)
    return adv.detach()


def pgd_attack(
    model: nn.Module | None,
    images: torch.Tensor,
    labels: torch.Tensor | None,
    epsilon: float,
    *,
    steps: int,
    rel_stepsize: float,
    random_start: bool,
    seeds: np.ndarray,
    chunk: int = 32,
    name: str = "pgd",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Adversarials within ``epsilon`` (L∞, [0, 1] units) and a per-sample success mask.

    ``labels`` index ``model``'s outputs: for a class-mapped dataset pass the dataset's
    decision, ``kstarlab.models.classmap.decision_model(model, groups)``, whose outputs are the
    categories (extraction does). Success means the model's arg-max on the returned image
    is not the label: with a class map, the mapped prediction is wrong.
    """
    if model is None:
        raise InputError(f"transform {name} needs the model under attack (pass a model)")
    if not isinstance(model, nn.Module):
        raise InputError(f"transform {name}: the model must be a torch nn.Module")
    if labels is None:
        raise InputError(f"transform {name} needs the true labels")
    labels = torch.as_tensor(labels)
    if labels.shape != images.shape[:1] or labels.is_floating_point():
        raise InputError(f"transform {name}: labels must be {images.shape[0]} integers")
    start = None
    if random_start:
        start = torch.empty(images.shape, dtype=images.dtype)
        generator = torch.Generator()
        for row, seed in enumerate(seeds.tolist()):
            generator.manual_seed(int(seed))
            start[row] = uniform_start(images.shape[1:], generator, images.dtype)
        start = start.to(images.device)
    labels = labels.long().to(images.device)
    flags = [p.requires_grad for p in model.parameters()]
    training = model.training
    model.eval()
    model.requires_grad_(False)
    adversarials, successes = [], []
    try:
        with torch.no_grad():
            outputs = model(images[:1]).shape[-1]
        if int(labels.min()) < 0 or int(labels.max()) >= outputs:
            raise InputError(
                f"transform {name}: labels must be model outputs 0..{outputs - 1}, got "
                f"{int(labels.min())}..{int(labels.max())} (PGD attacks the true label's "
                "output; for a class map attack kstarlab.models.classmap.decision_model)"
            )
        n = images.shape[0]
        for begin in range(0, n, chunk):
            rows = torch.arange(begin, begin + chunk).clamp_(max=n - 1)  # pad with the last
            adv = linf_pgd(
                model,
                images[rows],
                labels[rows],
                eps=epsilon,
                steps=steps,
                step_size=rel_stepsize * epsilon,
                start=None if start is None else start[rows],
            )
            with torch.no_grad():
                success = model(adv).argmax(dim=-1) != labels[rows]
            keep = min(chunk, n - begin)
            adversarials.append(adv[:keep])
            successes.append(success[:keep].cpu())
    finally:
        for parameter, flag in zip(model.parameters(), flags, strict=True):
            parameter.requires_grad_(flag)
        model.train(training)
    return torch.cat(adversarials), torch.cat(successes)
