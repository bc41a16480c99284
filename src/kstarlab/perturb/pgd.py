"""Untargeted L∞ PGD against the model being analysed (foolbox 3.3.4's ``LinfPGD``).

The random start is drawn per sample from its own seed, and the attack always runs on
chunks of exactly ``chunk`` samples (the last one padded by repeating its final sample):
floating-point results of a forward/backward pass depend on the batch *size* (kernels
are chosen by shape), not on a sample's position or neighbours, so adversarials do not
depend on how extraction batches the data. Batches that are a multiple of ``chunk`` waste
nothing. The model takes [0, 1] images (normalisation inside) and is attacked in
eval mode with ``requires_grad_(False)`` on its parameters, so no gradient accumulates in
the weights; its mode and flags are restored afterwards.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import torch
from torch import nn

from kstarlab.errors import InputError


def _foolbox():
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # foolbox's old scipy imports
        import foolbox

    return foolbox


def _seeded_pgd_class():
    fb = _foolbox()
    import eagerpy as ep

    class SeededLinfPGD(fb.attacks.LinfPGD):
        """``LinfPGD`` whose random start is a given tensor of per-sample U(-1, 1) draws."""

        start: torch.Tensor | None = None

        def get_random_start(self, x0, epsilon):
            if self.start is None:  # pragma: no cover - always set by pgd_attack
                return super().get_random_start(x0, epsilon)
            return x0 + epsilon * ep.astensor(self.start)

    return SeededLinfPGD


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
    decision, ``kstarlab.classmap.decision_model(model, groups)``, whose outputs are the
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
    fb = _foolbox()
    attack = _seeded_pgd_class()(rel_stepsize=rel_stepsize, steps=steps, random_start=random_start)
    start = None
    if random_start:
        start = torch.empty(images.shape, dtype=images.dtype)
        generator = torch.Generator()
        for row, seed in enumerate(seeds.tolist()):
            generator.manual_seed(int(seed))
            start[row] = torch.rand(images.shape[1:], generator=generator, dtype=images.dtype)
        start = (start * 2 - 1).to(images.device)
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
                "output; for a class map attack kstarlab.classmap.decision_model)"
            )
        fmodel = fb.PyTorchModel(model, bounds=(0, 1), device=images.device)
        n = images.shape[0]
        for begin in range(0, n, chunk):
            rows = torch.arange(begin, begin + chunk).clamp_(max=n - 1)  # pad with the last
            if start is not None:
                attack.start = start[rows]
            with torch.enable_grad():
                _, clipped, success = attack(
                    fmodel, images[rows].detach(), labels[rows], epsilons=epsilon
                )
            keep = min(chunk, n - begin)
            adversarials.append(clipped[:keep].detach())
            successes.append(success[:keep].detach().cpu())
    finally:
        for parameter, flag in zip(model.parameters(), flags, strict=True):
            parameter.requires_grad_(flag)
        model.train(training)
    return torch.cat(adversarials), torch.cat(successes)
