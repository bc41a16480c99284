"""k* of one cell: one layer of one latents file under one metric."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from kstarlab.io import write_csv


def kstar(
    latents: str,
    layer: str,
    settings: Mapping[str, Any],
    out_samples: str,
    out_classes: str,
    device: str = "cpu",
) -> None:
    """k* of one layer of one latents file: per-sample values and the per-class table
    (with the bootstrap interval of γ: ``settings["bootstrap_resamples"]``, ``["seed"]``)."""
    from kstarlab.io import open_latents
    from kstarlab.kstar import kstar_values
    from kstarlab.summary import BOOTSTRAP_RESAMPLES, kstar_summary

    with open_latents(latents, layer=layer) as data:
        k = kstar_values(
            data.X,
            data.y,
            metric=settings["metric"],
            p=settings.get("p"),
            dtype=settings["dtype"],
            block_size=settings.get("block_size"),
            device=device,
        )
        y = np.asarray(data.y)
        correct = None if data.predictions is None else np.asarray(data.predictions) == y
        summary = kstar_summary(
            k,
            y,
            class_names=data.class_names,
            accuracy=correct,
            resamples=settings.get("bootstrap_resamples", BOOTSTRAP_RESAMPLES),
            seed=settings["seed"],
        )
    samples = pd.DataFrame({"index": np.arange(y.size), "label": y, "kstar": k})
    if correct is not None:
        samples["correct"] = correct.astype(np.int8)
    write_csv(samples, out_samples, index=False, float_format="%.17g")
    write_csv(summary, out_classes, index=False, float_format="%.17g")
