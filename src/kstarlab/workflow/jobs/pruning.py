"""A pruning study: its benchmarks, one job per pruned model, its analysis, and the summary."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
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
    from kstarlab.pruning.comparison import write_analysis
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
