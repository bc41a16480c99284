"""The pruning approaches of issue 14, one entry point: `prune_model`.

Every approach returns a plain zoo network (weights with exact zeros, the zoo's state
dict keys) trained on the digits train split, its masks, and its record. All training
goes through the zoo's loop (`kstarlab.models.training.fit`: AdamW, one-cycle, seeded
batch order) inside `deterministic(seed, threads)`: the same inputs give the same bytes
on the CPU. Masks stay fixed by zeroing the pruned weights after every optimizer step.

- ``oneshot``: global magnitude pruning of the trained dense model, no retraining;
- ``finetune``: the same mask, then ``finetune_epochs`` of fine-tuning at ``finetune_lr``;
- ``gradual``: from a fresh initialisation, ``train_epochs`` of training while the global
  magnitude sparsity follows Zhu & Gupta's cubic ramp (`cubic_sparsity`) to s, then
  training on with the mask fixed;
- ``lottery``: iterative magnitude pruning with rewinding (Frankle et al. 2019/2020):
  train ``lottery_epochs`` from a fresh initialisation, storing the state after
  ``rewind_steps`` steps; then ``lottery_rounds`` times: prune globally a share of the
  remaining weights (`lottery_sparsities`, the last round at s exactly), rewind every
  weight, bias and batch-norm statistic to the stored state, and retrain ``lottery_epochs``
  with the mask fixed. Each retraining restarts the one-cycle schedule (a simplification:
  Frankle et al. rewind the learning-rate schedule to step k as well);
- ``snip``: Lee et al. (2019): connection sensitivity |g ⊙ w| of a fresh initialisation
  on one seeded batch, the global top (1 − s) kept, then ``train_epochs`` mask fixed;
- ``random``: a random mask with the per-layer sparsity of finetune's mask (global
  magnitude of the dense model) on a fresh initialisation, then ``train_epochs``;
- ``mpt``: edge-popup scores over frozen signed weights (`kstarlab.pruning.scores`),
  ``mpt_epochs`` at ``mpt_lr``, per-layer top (1 − s); exported as ``init ⊙ mask``.

oneshot, finetune and random start from a dense model: the one given, else one trained
here with the zoo's standard recipe (``dense_epochs``). The fresh initialisations are the
zoo's, drawn from ``seed``.
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from kstarlab.errors import InputError
from kstarlab.latents.datasets import load_digits
from kstarlab.models.registry import ZOO_PREPROCESSING, Classifier
from kstarlab.models.training import (
    DEFAULT_LR,
    TrainConfig,
    accuracy,
    deterministic,
    fit,
    train_zoo,
)
from kstarlab.models.zoo import ZOO, build_zoo_model
from kstarlab.names import APPROACHES
from kstarlab.pruning.masks import (
    Masks,
    apply_masks,
    check_sparsity,
    global_magnitude_masks,
    global_masks,
    layer_sparsity,
    prunable_layers,
    random_masks,
    weight_sparsity,
)
from kstarlab.pruning.schedules import cubic_sparsity, lottery_sparsities
from kstarlab.pruning.scores import attach_scores, export_subnetwork, frozen_weights
from kstarlab.pruning.settings import PruneSettings

#: Approaches that start from a trained dense model.
FROM_DENSE = ("oneshot", "finetune", "random")

State = dict[str, torch.Tensor]


@dataclass
class PrunedResult:
    """A pruned network (plain weights, zeros in place), its masks and its record.

    ``snapshots`` holds states the tests and analyses check against: lottery's
    ``early`` (the rewinding point) and ``rewound`` (the last round's start), mpt's
    ``init`` (its frozen weights, before masking).
    """

    model: nn.Module
    masks: Masks
    metadata: dict[str, Any] = field(default_factory=dict)
    snapshots: dict[str, State] = field(default_factory=dict)


@dataclass
class _Data:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    class_names: list[str]


def check_approach(approach: str) -> str:
    """``approach`` if it is one of `APPROACHES` (one line naming them otherwise)."""
    if approach not in APPROACHES:
        raise InputError(
            f"unknown pruning approach {approach!r}; available: {', '.join(APPROACHES)}"
        )
    return approach


def check_arch(arch: str) -> str:
    """``arch`` if it is a zoo architecture."""
    if arch not in ZOO:
        raise InputError(f"unknown zoo arch {arch!r}; available: {', '.join(ZOO)}")
    return arch


def prune_model(
    approach: str,
    arch: str,
    sparsity: float,
    *,
    settings: PruneSettings | None = None,
    seed: int = 0,
    dense: nn.Module | Any | None = None,
    prepared: str | os.PathLike[str] | None = None,
    split_seed: int = 0,
) -> PrunedResult:
    """Prune the zoo architecture ``arch`` to ``sparsity`` with ``approach`` on the digits.

    ``dense`` (a zoo net or a `TrainResult`) is the trained dense model of oneshot,
    finetune and random; ``prepared`` the digits file (`load_digits`).
    """
    check_approach(approach)
    check_arch(arch)
    sparsity = check_sparsity(sparsity)
    settings = (settings or PruneSettings()).checked()
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError(f"seed must be an integer, got {seed!r}")
    train = load_digits("train", seed=split_seed, prepared=prepared)
    test = load_digits("test", seed=split_seed, prepared=prepared)
    data = _Data(
        train.dataset.images,
        torch.from_numpy(train.labels),
        test.dataset.images,
        torch.from_numpy(test.labels),
        list(train.class_names),
    )
    dense_net, dense_seconds = None, 0.0
    if approach in FROM_DENSE:
        dense_net, dense_seconds = _dense(arch, dense, settings, seed, split_seed, prepared)
    run = _Run(arch, sparsity, settings, seed, data)
    start = time.perf_counter()
    with deterministic(seed, settings.threads):
        net, masks, snapshots = _APPROACH[approach](run, dense_net)
        net = net.cpu().eval()
        clean = accuracy(_classifier(net), data.x_test, data.y_test)
    train_seconds = time.perf_counter() - start
    metadata = {
        "approach": approach,
        "sparsity": sparsity,
        "arch": arch,
        "seed": seed,
        "measured_sparsity": weight_sparsity(net),
        "clean_accuracy": clean,
        "train_seconds": train_seconds,
        "dense_seconds": dense_seconds,
        "layer_sparsity": layer_sparsity(net),
        "dataset": "digits",
        "split_seed": split_seed,
        "n_train": int(data.x_train.shape[0]),
        "n_test": int(data.x_test.shape[0]),
        "num_classes": len(data.class_names),
        "class_names": data.class_names,
        "settings": settings.as_dict(),
    }
    return PrunedResult(net, masks, metadata, snapshots)


@dataclass
class _Run:
    arch: str
    sparsity: float
    settings: PruneSettings
    seed: int
    data: _Data

    @property
    def lr(self) -> float:
        return self.settings.lr if self.settings.lr is not None else DEFAULT_LR[self.arch]

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.data.x_train.shape[0] / self.settings.batch_size)

    def fresh(self) -> nn.Module:
        """A zoo initialisation (from the global generator, seeded by `deterministic`)."""
        return build_zoo_model(self.arch, num_classes=len(self.data.class_names))

    def train(
        self,
        net: nn.Module,
        epochs: int,
        *,
        masks: Masks | None = None,
        lr: float | None = None,
        parameters: list[nn.Parameter] | None = None,
        on_step: Callable[[int], Masks | None] | None = None,
    ) -> Masks | None:
        """Train ``net`` with the zoo's loop, ``masks`` fixed; ``on_step(step)`` may return
        new masks (gradual). Returns the masks in force at the end."""
        current = masks
        if current is not None:
            apply_masks(net, current)

        def after_step(step: int) -> None:
            nonlocal current
            if on_step is not None:
                current = on_step(step) or current
            if current is not None:
                apply_masks(net, current)

        fit(
            _classifier(net),
            self.data.x_train,
            self.data.y_train,
            epochs=epochs,
            lr=self.lr if lr is None else lr,
            weight_decay=self.settings.weight_decay,
            batch_size=self.settings.batch_size,
            seed=self.seed,
            parameters=parameters,
            after_step=after_step,
            channels_last=True,
        )
        return current


def _oneshot(run: _Run, dense: nn.Module) -> tuple[nn.Module, Masks, dict[str, State]]:
    net = copy.deepcopy(dense)
    masks = global_magnitude_masks(net, run.sparsity)
    apply_masks(net, masks)
    return net, masks, {}


def _finetune(run: _Run, dense: nn.Module) -> tuple[nn.Module, Masks, dict[str, State]]:
    net, masks, _ = _oneshot(run, dense)
    settings = run.settings
    lr = settings.finetune_lr if settings.finetune_lr is not None else run.lr
    run.train(net, settings.finetune_epochs, masks=masks, lr=lr)
    return net, masks, {}


def _random(run: _Run, dense: nn.Module) -> tuple[nn.Module, Masks, dict[str, State]]:
    like = global_magnitude_masks(dense, run.sparsity)
    net = run.fresh()
    masks = random_masks(like, torch.Generator().manual_seed(run.seed))
    run.train(net, run.settings.train_epochs, masks=masks)
    return net, masks, {}


def _snip(run: _Run, _: None) -> tuple[nn.Module, Masks, dict[str, State]]:
    net = run.fresh()
    model = _classifier(net)
    order = torch.Generator().manual_seed(run.seed)
    batch = torch.randperm(run.data.x_train.shape[0], generator=order)[: run.settings.batch_size]
    model.train()
    loss = F.cross_entropy(model(run.data.x_train[batch]), run.data.y_train[batch])
    layers = prunable_layers(net)
    grads = torch.autograd.grad(loss, [m.weight for m in layers.values()])
    scores = {
        name: (g * m.weight).detach().abs()
        for (name, m), g in zip(layers.items(), grads, strict=True)
    }
    masks = global_masks(scores, run.sparsity)
    run.train(net, run.settings.train_epochs, masks=masks)
    return net, masks, {}


def gradual_steps(run_steps: int, settings: PruneSettings) -> tuple[int, int]:
    """(t0, n) of the cubic ramp over ``run_steps`` training steps."""
    start = round(settings.gradual_start * run_steps)
    count = (round(settings.gradual_end * run_steps) - start) // settings.gradual_interval
    if count < 1:
        raise InputError(
            f"gradual ramp from step {start} to {round(settings.gradual_end * run_steps)} is "
            f"shorter than gradual_interval ({settings.gradual_interval} steps)"
        )
    return start, count


def _gradual(run: _Run, _: None) -> tuple[nn.Module, Masks, dict[str, State]]:
    settings = run.settings
    if run.sparsity < settings.gradual_initial:
        raise InputError(
            f"sparsity {run.sparsity} is below gradual_initial {settings.gradual_initial}"
        )
    net = run.fresh()
    start, count = gradual_steps(settings.train_epochs * run.steps_per_epoch, settings)
    masks: Masks | None = None

    def sparsity_at(step: int) -> float:
        return cubic_sparsity(
            step,
            final=run.sparsity,
            initial=settings.gradual_initial,
            start=start,
            count=count,
            interval=settings.gradual_interval,
        )

    def on_step(step: int) -> Masks | None:
        nonlocal masks
        if start <= step <= start + count * settings.gradual_interval and (
            (step - start) % settings.gradual_interval == 0
        ):
            masks = global_magnitude_masks(net, sparsity_at(step), masks)
            return masks
        return None

    on_step(0)
    final = run.train(net, settings.train_epochs, masks=masks, on_step=on_step)
    assert final is not None
    return net, final, {}


def _lottery(run: _Run, _: None) -> tuple[nn.Module, Masks, dict[str, State]]:
    settings = run.settings
    steps = settings.lottery_epochs * run.steps_per_epoch
    if settings.rewind_steps > steps:
        raise InputError(
            f"rewind_steps {settings.rewind_steps} is beyond the first training's {steps} steps"
        )
    net = run.fresh()
    early: State = {}

    def store(step: int) -> None:
        if step == settings.rewind_steps:
            early.update(_clone_state(net))

    store(0)
    run.train(net, settings.lottery_epochs, on_step=lambda step: store(step))
    masks: Masks | None = None
    rewound: State = {}
    for level in lottery_sparsities(run.sparsity, settings.lottery_rounds):
        masks = global_magnitude_masks(net, level, masks)
        net.load_state_dict(early)
        apply_masks(net, masks)
        rewound = _clone_state(net)
        run.train(net, settings.lottery_epochs, masks=masks)
    assert masks is not None
    return net, masks, {"early": early, "rewound": rewound}


def _mpt(run: _Run, _: None) -> tuple[nn.Module, Masks, dict[str, State]]:
    from kstarlab.pruning.scores import signed_constant_

    net = run.fresh()
    signed_constant_(net, run.sparsity)
    scores = attach_scores(net, run.sparsity)
    init = frozen_weights(net)
    run.train(net, run.settings.mpt_epochs, lr=run.settings.mpt_lr, parameters=scores)
    masks = export_subnetwork(net)
    return net, masks, {"init": init}


_APPROACH: dict[str, Callable[[_Run, Any], tuple[nn.Module, Masks, dict[str, State]]]] = {
    "oneshot": _oneshot,
    "finetune": _finetune,
    "gradual": _gradual,
    "lottery": _lottery,
    "snip": _snip,
    "random": _random,
    "mpt": _mpt,
}


def _dense(
    arch: str,
    dense: nn.Module | Any | None,
    settings: PruneSettings,
    seed: int,
    split_seed: int,
    prepared: str | os.PathLike[str] | None,
) -> tuple[nn.Module, float]:
    """The dense net given (a net or a TrainResult), else one trained here."""
    if dense is not None:
        net = getattr(dense, "net", dense)
        if not isinstance(net, nn.Module):
            raise InputError(f"dense must be a zoo network, got {type(dense).__name__}")
        return net, 0.0
    config = TrainConfig(
        arch,
        epochs=settings.dense_epochs,
        seed=seed,
        split_seed=split_seed,
        batch_size=settings.batch_size,
        lr=settings.lr,
        weight_decay=settings.weight_decay,
        threads=settings.threads,
    )
    result = train_zoo(config, prepared=prepared)
    return result.net, float(result.metadata["train_seconds"])


def _classifier(net: nn.Module) -> Classifier:
    return Classifier(net, ZOO_PREPROCESSING.mean, ZOO_PREPROCESSING.std)


def _clone_state(net: nn.Module) -> State:
    return {key: value.detach().clone() for key, value in net.state_dict().items()}
