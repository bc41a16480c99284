"""Pruning approaches (issue 14: the robustness lottery) and pruned checkpoints.

- `masks`: the one home of the prunable weights (conv and linear) and of global magnitude
  pruning; masks computed, applied, measured;
- `schedules`: Zhu & Gupta's cubic sparsity ramp and the lottery's rounds;
- `scores`: multi-prize tickets (edge-popup scores over frozen signed weights);
- `settings`: `PruneSettings`, the approaches' epochs, schedules and optimiser;
- `approaches`: `prune_model`, the seven approaches of `kstarlab.names.APPROACHES`;
- `checkpoints`: `save_pruned`, and `load_pruned` for checkpoints users bring;
- `evaluation`: a study's corrupted benchmarks, and one model's geometry on them;
- `comparison`: analysis files and the study's tables and figures (`summarise_pruning`);
- `plots`: the robustness-lottery plot, the embedding map, distributions, fragile samples.

The public names are imported on first use (PEP 562): the geometry's pruning probe needs
the masks, not the training loop, and the config check reads `settings` without torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kstarlab.pruning.approaches import PrunedResult, prune_model
    from kstarlab.pruning.checkpoints import load_pruned, save_pruned
    from kstarlab.pruning.masks import (
        apply_masks,
        global_magnitude_masks,
        global_magnitude_prune,
        layer_sparsity,
        masks_of,
        prunable_parameters,
        weight_sparsity,
    )
    from kstarlab.pruning.settings import PruneSettings

_LAZY = {
    "apply_masks": "kstarlab.pruning.masks",
    "global_magnitude_masks": "kstarlab.pruning.masks",
    "global_magnitude_prune": "kstarlab.pruning.masks",
    "layer_sparsity": "kstarlab.pruning.masks",
    "masks_of": "kstarlab.pruning.masks",
    "prunable_parameters": "kstarlab.pruning.masks",
    "weight_sparsity": "kstarlab.pruning.masks",
    "PrunedResult": "kstarlab.pruning.approaches",
    "prune_model": "kstarlab.pruning.approaches",
    "load_pruned": "kstarlab.pruning.checkpoints",
    "save_pruned": "kstarlab.pruning.checkpoints",
    "PruneSettings": "kstarlab.pruning.settings",
}

__all__ = [
    "PruneSettings",
    "PrunedResult",
    "apply_masks",
    "global_magnitude_masks",
    "global_magnitude_prune",
    "layer_sparsity",
    "load_pruned",
    "masks_of",
    "prunable_parameters",
    "prune_model",
    "save_pruned",
    "weight_sparsity",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kstarlab.pruning' has no attribute {name!r}")
