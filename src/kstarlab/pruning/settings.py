"""What every pruning approach reads besides the architecture, sparsity and seed."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from kstarlab.errors import InputError

_POSITIVE_INTS = (
    "finetune_epochs",
    "train_epochs",
    "lottery_epochs",
    "lottery_rounds",
    "mpt_epochs",
    "gradual_interval",
    "batch_size",
    "threads",
)


@dataclass(frozen=True)
class PruneSettings:
    """Epochs, schedules and optimiser settings of the pruning approaches.

    The defaults keep each pruned digits ResNet to seconds on one CPU thread (about 6 s
    per epoch of the 1,257 training digits): finetune 2 epochs, gradual, snip and random
    2, lottery 3 × 2 (dense and two rounds), mpt 3. On the digits the comparison depends
    on these budgets: random at s = 0.9 reaches about 0.64 test accuracy after 2 epochs
    but about 0.98 after 3 (finetune about 0.96 after 2).

    - ``dense_epochs``: epochs of the dense model that oneshot, finetune and random start
      from when none is given (None: the zoo's standard epochs);
    - ``finetune_epochs``: fine-tuning of finetune's masked dense model;
    - ``train_epochs``: training from scratch of gradual, snip and random;
    - ``gradual_start``, ``gradual_end``: the cubic ramp's t0 and t0 + nΔt as shares of
      gradual's training steps; ``gradual_interval``: Δt in steps; ``gradual_initial``: s_i;
    - ``lottery_epochs``: epochs of each lottery training (the dense one and every round);
      ``lottery_rounds``: prune-rewind-retrain rounds; ``rewind_steps``: the rewinding
      point k, in optimizer steps of the first training (0: the initialisation, Frankle &
      Carbin 2019; a few hundred steps in Frankle et al. 2020; 20 steps = 1 digits epoch);
    - ``mpt_epochs``: score training of mpt; ``mpt_lr``: its peak learning rate;
    - ``lr``: peak learning rate of the other trainings (None: the zoo's per arch);
      ``finetune_lr``: that of fine-tuning (None: lr; lr / 10 recovers
      only about 0.82 at s = 0.9 on the digits ResNet in 2 epochs, lr about 0.96);
    - ``weight_decay``, ``batch_size``, ``threads`` as in the zoo.
    """

    dense_epochs: int | None = None
    finetune_epochs: int = 2
    train_epochs: int = 2
    gradual_start: float = 0.0
    gradual_end: float = 0.6
    gradual_interval: int = 5
    gradual_initial: float = 0.0
    lottery_epochs: int = 2
    lottery_rounds: int = 2
    rewind_steps: int = 20
    mpt_epochs: int = 3
    mpt_lr: float = 0.05
    lr: float | None = None
    finetune_lr: float | None = None
    weight_decay: float = 1e-4
    batch_size: int = 64
    threads: int = 1

    def checked(self) -> PruneSettings:
        """The settings if every value is valid (one-line `InputError` otherwise)."""
        for name in _POSITIVE_INTS:
            _positive_int(name, getattr(self, name))
        if self.dense_epochs is not None:
            _positive_int("dense_epochs", self.dense_epochs)
        if isinstance(self.rewind_steps, bool) or not isinstance(self.rewind_steps, int):
            raise InputError(f"rewind_steps must be an integer, got {self.rewind_steps!r}")
        if self.rewind_steps < 0:
            raise InputError(f"rewind_steps must be at least 0, got {self.rewind_steps}")
        if not 0.0 <= self.gradual_start < self.gradual_end <= 1.0:
            raise InputError(
                "gradual ramp must satisfy 0 <= gradual_start < gradual_end <= 1, got "
                f"{self.gradual_start} and {self.gradual_end}"
            )
        if not 0.0 <= self.gradual_initial < 1.0:
            raise InputError(f"gradual_initial must lie in [0, 1), got {self.gradual_initial}")
        for name in ("lr", "finetune_lr", "mpt_lr"):
            value = getattr(self, name)
            if value is not None and not (_is_number(value) and value > 0 and math.isfinite(value)):
                raise InputError(f"{name} must be a positive number, got {value!r}")
        if not (_is_number(self.weight_decay) and self.weight_decay >= 0):
            raise InputError(f"weight_decay must be at least 0, got {self.weight_decay!r}")
        return self

    def as_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (for metadata)."""
        return asdict(self)


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}")
