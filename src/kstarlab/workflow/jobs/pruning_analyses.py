"""A pruning study's benchmarks (made once) and each model's geometry on them."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kstarlab.paths import checkpoint_record
from kstarlab.workflow.jobs.inputs import load_images, load_model_entry
from kstarlab.workflow.jobs.runtime import log


def pruning_benchmarks(settings: Mapping[str, Any], out: str, prepared: str | None = None) -> None:
    """The evaluated images, clean and under every corrupted benchmark of the study."""
    import numpy as np
    import torch

    from kstarlab.pruning.evaluation import write_benchmarks

    data = load_images(settings["dataset"], prepared)
    stored = getattr(data.dataset, "images", None)

    def images(lo: int, hi: int) -> torch.Tensor:
        if stored is not None:
            return stored[lo:hi]
        return torch.stack([data.dataset[i][0] for i in range(lo, hi)])

    write_benchmarks(
        out,
        images,
        np.asarray(data.labels),
        settings["benchmarks"],
        seed=settings["seed"],
        batch_size=settings["batch_size"],
    )


def pruning_analysis(
    settings: Mapping[str, Any],
    benchmarks: str,
    out: str,
    checkpoint: str | None = None,
) -> None:
    """The geometry and predictions of one model of the study (the dense one, or a pruned
    one from its checkpoint), clean and on each benchmark."""
    import copy

    from kstarlab.pruning import load_pruned, weight_sparsity
    from kstarlab.pruning.analysis_files import write_analysis
    from kstarlab.pruning.evaluation import benchmark_names, evaluate_model, read_labels

    entity = settings["entity"]
    meta: dict[str, Any] = {
        "entity": entity,
        "approach": settings["approach"],
        "sparsity": float(settings["sparsity"]),
        "arch": settings["arch"],
        "seed": int(settings["seed"]),
        "train_seconds": math.nan,
    }
    # The dense model, with its preprocessing; a pruned one is its copy with the pruned
    # weights loaded into the same architecture.
    module = load_model_entry(settings["dense"], settings["dense_model"], settings["seed"]).module
    record = settings.get("record")
    if checkpoint is not None:
        module = copy.deepcopy(module)
        load_pruned(module.net, checkpoint, form=settings["form"], sparsity=settings["sparsity"])
        record = checkpoint_record(checkpoint)
    if record and Path(record).is_file():
        meta["train_seconds"] = float(
            json.loads(Path(record).read_text()).get("train_seconds", math.nan)
        )
    meta["measured_sparsity"] = weight_sparsity(module.net)
    labels = read_labels(benchmarks)
    meta["benchmarks"] = benchmark_names(benchmarks)[1:]
    features = evaluate_model(module, benchmarks, batch_size=settings["batch_size"])
    log.info(
        "%s: clean accuracy %.4f",
        entity,
        float((features["clean"].predictions == labels).mean()),
    )
    write_analysis(out, meta, labels, features)
