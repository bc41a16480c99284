"""Training the embedded zoo on the digits train split, deterministically.

Regimes (the paper's training variants):

- ``standard``: cross-entropy on clean images;
- ``adversarial``: PGD adversarial training (Madry et al.), L∞ ball of radius ``eps``
  in pixel space [0, 1], random start, ``pgd_steps`` steps of size ``2.5·eps/steps``;
  the model trains on the adversarial images only, with the radius ramped linearly from 0
  to ``eps`` over the first ``eps_warmup`` of the steps (small models diverge otherwise);
- ``stylized``: the analogue of Stylized-ImageNet (SIN). The train split is stylized once,
  before training, with the weight-free proxy ``style`` (default ``style-fda-random``: Fourier
  amplitude transfer from a shipped real image, one drawn per sample from the seed and the
  sample's position in the train split, see `kstarlab.perturb`), and the model trains on
  that fixed stylized copy only, as SIN is a fixed stylized copy of ImageNet. It is a proxy
  for AdaIN, not AdaIN;
- ``standard+stylized``: the analogue of SIN+IN: the union of the clean and the stylized
  train images (2N samples per epoch, shuffled together).

Both stylized regimes report the accuracy on the clean test split (``test_accuracy``) and
on the test split stylized with the same transform (``stylized_test_accuracy``).

Determinism: seeded initialisation and data order, ``torch.use_deterministic_algorithms``
while training, single-process data order; the stylization draws no torch randomness (each
sample's style comes from its own seed). The same config gives the same checkpoint bytes
on the same machine. The checkpoint is ``{"state_dict", "kstarlab": metadata}`` (loadable
with ``weights_only=True``); a JSON beside it repeats the metadata with the training time.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from kstarlab.errors import InputError
from kstarlab.io import atomic_write
from kstarlab.latents.datasets import load_digits
from kstarlab.models.checkpoints import file_sha256
from kstarlab.models.device import resolve_device
from kstarlab.models.registry import ZOO_PREPROCESSING, Classifier
from kstarlab.models.zoo import ZOO, build_zoo_model
from kstarlab.paths import checkpoint_record
from kstarlab.perturb.pgd import linf_pgd, uniform_start
from kstarlab.perturb.spec import check_style

REGIMES = ("standard", "adversarial", "stylized", "standard+stylized")
AVAILABLE_REGIMES = REGIMES
#: The stylization of the stylized regimes unless ``TrainConfig.style`` says otherwise.
# Epochs that keep every default model within the 5-minute budget on 2 CPU cores; the
# stylized ones train in under a minute of CPU time (one thread). standard+stylized sees 2N
# samples per epoch, so it gets about half the epochs of stylized.
DEFAULT_EPOCHS = {
    ("resnet", "standard"): 8,
    ("resnet", "adversarial"): 6,
    ("resnet", "stylized"): 5,
    ("resnet", "standard+stylized"): 2,
    ("vit", "standard"): 30,
    ("vit", "adversarial"): 30,
    ("vit", "stylized"): 24,
    ("vit", "standard+stylized"): 12,
    ("mlp", "standard"): 30,
    ("mlp", "adversarial"): 30,
    ("mlp", "stylized"): 30,
    ("mlp", "standard+stylized"): 15,
}
TIMING_KEYS = ("train_seconds", "train_cpu_seconds", "stylize_seconds", "total_seconds")
DEFAULT_LR = {"resnet": 3e-3, "vit": 2e-3, "mlp": 1e-3}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained zoo model."""

    arch: str
    regime: str = "standard"
    epochs: int | None = None
    seed: int = 0
    split_seed: int = 0
    batch_size: int = 64
    lr: float | None = None
    weight_decay: float = 1e-4
    eps: float = 8 / 255
    pgd_steps: int = 3
    eps_warmup: float = 0.3
    # PGD steps of the robust-accuracy test; None: 10 for adversarial models, else 0 (skip:
    # standard models score about 0, and the workflow's PGD study measures them anyway).
    eval_pgd_steps: int | None = None
    threads: int = 1
    style: str | None = (
        None  # stylized regimes: a style-fda transform (default names.DEFAULT_STYLE)
    )

    def resolved(self) -> TrainConfig:
        """The config with defaults filled in and every value checked."""
        if self.arch not in ZOO:
            raise InputError(f"unknown zoo arch {self.arch!r}; available: {', '.join(ZOO)}")
        check_regime(self.regime)
        epochs = self.epochs if self.epochs is not None else DEFAULT_EPOCHS[self.arch, self.regime]
        lr = self.lr if self.lr is not None else DEFAULT_LR[self.arch]
        checks = (("epochs", epochs), ("batch_size", self.batch_size), ("threads", self.threads))
        for name, value in checks:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{name} must be a positive integer, got {value!r}")
        if not (lr > 0 and math.isfinite(lr)):
            raise InputError(f"learning rate must be positive, got {lr!r}")
        if self.regime == "adversarial":
            if not (0 < self.eps <= 1):
                raise InputError(f"eps must be in (0, 1] (pixel scale), got {self.eps!r}")
            if self.pgd_steps < 1:
                raise InputError(f"pgd_steps must be at least 1, got {self.pgd_steps!r}")
            if not (0 <= self.eps_warmup <= 1):
                raise InputError(f"eps_warmup must be in [0, 1], got {self.eps_warmup!r}")
        style = check_style(self.regime, self.style)
        eval_steps = self.eval_pgd_steps
        if eval_steps is None:
            eval_steps = 10 if self.regime == "adversarial" else 0
        if isinstance(eval_steps, bool) or not isinstance(eval_steps, int) or eval_steps < 0:
            raise InputError(f"eval_pgd_steps must be a non-negative integer, got {eval_steps!r}")
        return TrainConfig(
            **{
                **asdict(self),
                "epochs": epochs,
                "lr": lr,
                "style": style,
                "eval_pgd_steps": eval_steps,
            }
        )


@dataclass
class TrainResult:
    """A trained network and what was recorded about it."""

    net: nn.Module
    metadata: dict[str, Any] = field(default_factory=dict)


def check_regime(regime: str) -> None:
    """Refuse unknown regimes (one line naming the available ones)."""
    if regime not in AVAILABLE_REGIMES:
        raise InputError(f"unknown regime {regime!r}; available: {', '.join(AVAILABLE_REGIMES)}")


def stylize(images: torch.Tensor, style: str, seed: int) -> torch.Tensor:
    """``images`` stylized by ``style``, sample i with its seed from (seed, style, i)."""
    from kstarlab.perturb import apply_transform

    indices = torch.arange(images.shape[0])
    return apply_transform(images, style, seed=seed, indices=indices)[0]


def training_set(
    regime: str,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    style: str | None = None,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The images and labels a regime trains on, built once before training.

    ``standard`` and ``adversarial``: the clean images (PGD perturbs them per batch);
    ``stylized``: a fixed stylized copy; ``standard+stylized``: clean then stylized (2N).
    """
    check_regime(regime)
    style = check_style(regime, style)
    if style is None:
        return images, labels
    stylized = stylize(images, style, seed)
    if regime == "stylized":
        return stylized, labels
    return torch.cat([images, stylized]), torch.cat([labels, labels])


@contextlib.contextmanager
def deterministic(seed: int, threads: int = 1) -> Iterator[None]:
    """Seed torch, force deterministic algorithms and fix the thread count; restore after.

    One thread by default: the bytes then do not depend on the machine's core count, and
    the workflow trains several models in parallel anyway.
    """
    previous = torch.are_deterministic_algorithms_enabled()
    previous_threads = torch.get_num_threads()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True)
        torch.set_num_threads(threads)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(previous)
            torch.set_num_threads(previous_threads)


def accuracy(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch: int = 256
) -> float:
    """Fraction of ``images`` classified as ``labels`` (eval mode, on the model's device)."""
    model.eval()
    dev = _device_of(model)
    correct = 0
    with torch.inference_mode():
        for lo in range(0, images.shape[0], batch):
            pred = model(images[lo : lo + batch].to(dev)).argmax(dim=1).cpu()
            correct += int((pred == labels[lo : lo + batch]).sum())
    return correct / images.shape[0]


def robust_accuracy(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    eps: float,
    steps: int,
    seed: int,
    batch: int = 256,
) -> float:
    """Accuracy under L∞ PGD with ``steps`` steps (eval mode, seeded random start)."""
    model.eval()
    dev = _device_of(model)
    generator = torch.Generator().manual_seed(seed)
    correct = 0
    for lo in range(0, images.shape[0], batch):
        x, y = images[lo : lo + batch].to(dev), labels[lo : lo + batch].to(dev)
        adv = linf_pgd(
            model,
            x,
            y,
            eps=eps,
            steps=steps,
            step_size=2.5 * eps / steps,
            start=uniform_start(x.shape, generator, x.dtype),
        )
        with torch.inference_mode():
            correct += int((model(adv).argmax(dim=1) == y).sum())
    return correct / images.shape[0]


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def fit(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    epochs: int,
    lr: float,
    weight_decay: float,
    batch_size: int,
    seed: int,
    parameters: Iterable[nn.Parameter] | None = None,
    perturb: Callable[[nn.Module, torch.Tensor, torch.Tensor, int], torch.Tensor] | None = None,
    after_step: Callable[[int], None] | None = None,
    stop: Callable[[], bool] | None = None,
    progress: bool = False,
    desc: str = "train",
    channels_last: bool = False,
) -> None:
    """The zoo's training loop: AdamW with a one-cycle schedule, cross-entropy, batches in
    the order of a permutation per epoch drawn from ``seed``, on the model's device.

    Call it inside `deterministic`. ``parameters`` (default: all of the model's) are the
    ones AdamW updates; ``perturb(model, x, y, step)`` replaces a batch's images (PGD);
    ``after_step(step)`` runs after each optimizer step, with the number of steps taken
    (pruning keeps masks and schedules with it). ``stop`` is polled after every batch;
    when it returns true, KeyboardInterrupt ends the run. ``channels_last`` stores the
    model's 4-D weights channels-last first (oneDNN's faster convolutions on the CPU, about
    1.2× here; another float rounding, so the zoo itself keeps the default layout).
    """
    if channels_last:
        model.to(memory_format=torch.channels_last)
    dev = _device_of(model)
    params = list(model.parameters() if parameters is None else parameters)
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    steps_per_epoch = math.ceil(images.shape[0] / batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, total_steps=epochs * steps_per_epoch
    )
    order = torch.Generator().manual_seed(seed)
    step = 0
    bar = tqdm(range(epochs), desc=desc, disable=not progress)
    for _ in bar:
        permutation = torch.randperm(images.shape[0], generator=order)
        for lo in range(0, images.shape[0], batch_size):
            idx = permutation[lo : lo + batch_size]
            x, y = images[idx].to(dev), labels[idx].to(dev)
            if perturb is not None:
                x = perturb(model, x, y, step)
            step += 1
            model.train()
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            if after_step is not None:
                after_step(step)
            if stop is not None and stop():
                raise KeyboardInterrupt
        bar.set_postfix(loss=f"{loss.detach().item():.3f}")


def train_zoo(
    config: TrainConfig,
    *,
    device: str | torch.device = "cpu",
    progress: bool = False,
    stop: Callable[[], bool] | None = None,
    prepared: str | os.PathLike[str] | None = None,
) -> TrainResult:
    """Train one zoo model on the digits train split and evaluate it on the test split
    (read from the ``prepared`` digits file when given, see `kstarlab.latents.datasets.load_digits`).

    ``device`` (e.g. ``"cuda"``) runs the training there; the initial weights, the batch
    order and the PGD starts are drawn on the CPU, and the bytes are reproducible on the
    CPU. ``stop`` is polled after every batch; when it returns true, KeyboardInterrupt
    ends the run.
    """
    cfg = config.resolved()
    dev = resolve_device(device)
    train = load_digits("train", seed=cfg.split_seed, prepared=prepared)
    test = load_digits("test", seed=cfg.split_seed, prepared=prepared)
    x_train, y_train = train.dataset.images, torch.from_numpy(train.labels)
    x_test, y_test = test.dataset.images, torch.from_numpy(test.labels)
    start = time.perf_counter()
    x_fit, y_fit = training_set(cfg.regime, x_train, y_train, style=cfg.style, seed=cfg.seed)
    stylize_seconds = time.perf_counter() - start
    start_training = time.perf_counter()
    with deterministic(cfg.seed, cfg.threads):
        net = build_zoo_model(cfg.arch, num_classes=len(train.class_names))
        model = Classifier(net, ZOO_PREPROCESSING.mean, ZOO_PREPROCESSING.std).to(dev)
        cpu_start = time.process_time()
        attack = torch.Generator().manual_seed(cfg.seed + 1)
        total_steps = cfg.epochs * math.ceil(x_fit.shape[0] / cfg.batch_size)

        def adversarial(model: nn.Module, x: torch.Tensor, y: torch.Tensor, step: int):
            ramp = min(1.0, (step + 1) / max(1.0, cfg.eps_warmup * total_steps))
            model.eval()
            eps = cfg.eps * ramp
            return linf_pgd(
                model,
                x,
                y,
                eps=eps,
                steps=cfg.pgd_steps,
                step_size=2.5 * eps / cfg.pgd_steps,  # Madry et al.'s 2.5 ε / steps
                start=uniform_start(x.shape, attack, x.dtype),
            )

        fit(
            model,
            x_fit,
            y_fit,
            epochs=cfg.epochs,
            lr=cfg.lr,
            weight_decay=cfg.weight_decay,
            batch_size=cfg.batch_size,
            seed=cfg.seed,
            perturb=adversarial if cfg.regime == "adversarial" else None,
            stop=stop,
            progress=progress,
            desc=f"train {cfg.arch}/{cfg.regime}",
        )
        if stop is not None and stop():
            raise KeyboardInterrupt
        train_seconds = time.perf_counter() - start_training
        train_cpu_seconds = time.process_time() - cpu_start
        model.eval()
        test_acc = accuracy(model, x_test, y_test)
        stylized_acc = None
        if cfg.style is not None:
            stylized_acc = accuracy(model, stylize(x_test, cfg.style, cfg.seed), y_test)
        robust_acc = None
        if cfg.eval_pgd_steps > 0:
            robust_acc = robust_accuracy(
                model, x_test, y_test, eps=cfg.eps, steps=cfg.eval_pgd_steps, seed=cfg.seed
            )
    metadata = {
        "arch": cfg.arch,
        "regime": cfg.regime,
        "epochs": cfg.epochs,
        "seed": cfg.seed,
        "test_accuracy": test_acc,
        "style": cfg.style,
        "stylized_test_accuracy": stylized_acc,
        "robust_accuracy": robust_acc,
        "robust_eval": f"L-inf PGD, eps {cfg.eps:.6g}, {cfg.eval_pgd_steps} steps, random start"
        if cfg.eval_pgd_steps > 0
        else "not measured",
        "dataset": "digits",
        "device": dev.type,
        "split_seed": cfg.split_seed,
        "n_train": int(x_train.shape[0]),
        "n_test": int(x_test.shape[0]),
        "samples_per_epoch": int(x_fit.shape[0]),
        "num_classes": len(train.class_names),
        "class_names": list(train.class_names),
        "config": asdict(cfg),
    }
    timing = {
        "train_seconds": train_seconds,
        "train_cpu_seconds": train_cpu_seconds,
        "stylize_seconds": stylize_seconds,
        "total_seconds": time.perf_counter() - start,
    }
    return TrainResult(net=net.cpu().eval(), metadata={**metadata, **timing})


def save_trained(result: TrainResult, out: str | Path) -> tuple[Path, Path]:
    """Write the checkpoint at ``out`` and its metadata JSON beside it, atomically
    (`kstarlab.paths.checkpoint_record`: ``.json``).

    The checkpoint omits the training time so that its bytes depend on the config only.
    """
    out = Path(out)
    meta_path = Path(checkpoint_record(out))
    stable = {k: v for k, v in result.metadata.items() if k not in TIMING_KEYS}
    # A file object, not a name: torch.save would put the (random) temporary name inside.
    with atomic_write(out, "wb") as fh:
        torch.save({"state_dict": result.net.state_dict(), "kstarlab": stable}, fh)
    from kstarlab.latents.extraction import versions

    record = {
        **result.metadata,
        "checkpoint": out.name,
        "checkpoint_sha256": file_sha256(out),
        **versions(),
    }
    with atomic_write(meta_path) as fh:
        json.dump(record, fh, indent=2, sort_keys=True)
        fh.write("\n")
    return out, meta_path
