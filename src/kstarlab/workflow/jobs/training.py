"""Training one zoo model."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kstarlab.workflow.jobs.runtime import log


def train(
    settings: Mapping[str, Any],
    out_model: str,
    device: str = "cpu",
    progress: bool = False,
    prepared: str | None = None,
) -> None:
    """Train one zoo model and save its checkpoint and metadata (``prepared``: the data
    rule's digits file)."""
    from kstarlab.models.training import TrainConfig, save_trained, train_zoo

    result = train_zoo(TrainConfig(**settings), device=device, progress=progress, prepared=prepared)
    save_trained(result, out_model)
    log.info("trained %s: %s", out_model, json.dumps(result.metadata, default=str))
