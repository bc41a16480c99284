"""A pruning study's pruned models: one training job per (approach, sparsity)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kstarlab.workflow.jobs.inputs import load_model_entry
from kstarlab.workflow.jobs.runtime import log


def prune(
    settings: Mapping[str, Any],
    out: str,
    dense: str | None = None,
    prepared: str | None = None,
) -> None:
    """Train one pruned model of an approach and a sparsity; save it and its record."""
    from kstarlab.pruning import PruneSettings, prune_model, save_pruned

    dense_net = None
    if dense is not None:
        dense_net = load_model_entry(
            settings["dense"], settings["dense_model"], settings["seed"]
        ).net
    result = prune_model(
        settings["approach"],
        settings["arch"],
        settings["sparsity"],
        settings=PruneSettings(**settings["settings"]),
        seed=settings["seed"],
        split_seed=settings["split_seed"],
        dense=dense_net,
        prepared=prepared,
    )
    save_pruned(result, out)
    log.info("pruned %s: %s", out, json.dumps(result.metadata, default=str))
