"""A pruning study's tables and figures across its models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def pruning_summary(
    analyses: Sequence[str],
    outputs: Mapping[str, str],
    benchmarks: str,
    settings: Mapping[str, Any],
) -> None:
    """The study's tables and figures across its models."""
    from kstarlab.pruning.comparison import summarise_pruning
    from kstarlab.pruning.evaluation import read_images

    summarise_pruning(
        analyses,
        outputs,
        images=read_images(benchmarks),
        class_names=settings.get("class_names"),
        compare=settings.get("compare"),
        seed=settings["seed"],
    )
