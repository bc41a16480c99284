"""k* of one cell: one layer of one latents file under one metric."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def kstar(
    latents: str,
    layer: str | None,
    settings: Mapping[str, Any],
    out_samples: str,
    out_classes: str,
    device: str = "cpu",
) -> None:
    """k* of one layer of one latents file: per-sample values and the per-class table
    (with the bootstrap interval of γ: ``settings["bootstrap_resamples"]``, ``["seed"]``),
    written by `kstar_file` as ``kstarlab kstar`` writes them."""
    from kstarlab.kstar.files import kstar_file
    from kstarlab.kstar.summary import BOOTSTRAP_RESAMPLES

    kstar_file(
        latents,
        layer,
        metric=settings["metric"],
        p=settings.get("p"),
        dtype=settings["dtype"],
        block_size=settings.get("block_size"),
        device=device,
        resamples=settings.get("bootstrap_resamples", BOOTSTRAP_RESAMPLES),
        seed=settings["seed"],
        out_samples=out_samples,
        out_classes=out_classes,
    )
