"""The geometry study: features and robustness per model, and the summary across models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kstarlab.workflow.jobs.inputs import load_images, load_model_entry
from kstarlab.workflow.jobs.runtime import log


def geometry_model(
    model_name: str,
    settings: Mapping[str, Any],
    clean: str,
    outputs: Mapping[str, str],
    corrupted: Sequence[str] | None = None,
    prepared: str | None = None,
) -> None:
    """Features, corruption and pruning robustness of one model (``prepared``: the data
    rule's digits file).

    ``corrupted`` holds the latents of ``settings["corruptions"]``, in that order, when
    extract jobs made them. Without it they are extracted here, in this process, to a
    scratch folder: robustness needs only the classifier's input under each corruption,
    and on small data one job instead of one per (model, corruption, severity) saves the
    start-up of dozens of jobs. Per-sample seeds make both ways give the same numbers.
    """
    import tempfile

    from kstarlab.geometry.analysis import analyse_model
    from kstarlab.latents.extraction import extract as run_extract
    from kstarlab.perturb import parse_transform

    model = load_model_entry(model_name, settings["model"], settings["seed"])
    data = load_images(settings["dataset"], prepared)
    images = data.dataset.images if hasattr(data.dataset, "images") else None
    if images is None:
        import torch

        images = torch.stack([data.dataset[i][0] for i in range(len(data))])
    with tempfile.TemporaryDirectory(prefix=f"kstarlab-geometry-{model_name}-") as scratch:
        paths = {}
        if corrupted is not None:
            paths = dict(zip(settings["corruptions"], corrupted, strict=True))
        for transform in (t for t in settings["corruptions"] if t not in paths):
            path = Path(scratch) / f"{transform}.h5"
            result = run_extract(
                model,
                data,
                [settings["layer"]],
                path,
                transform=parse_transform(transform, seed=settings["seed"]),
                batch_size=settings["batch_size"],
                compression="none",
                seed=settings["seed"],
            )
            log.info("%s under %s: accuracy %.4f", model_name, transform, result.accuracy)
            paths[transform] = path
        analyse_model(
            model,
            images,
            clean,
            paths,
            settings["layer"],
            settings["sparsities"],
            outputs["features"],
            outputs["samples"],
            outputs["pruning"],
            batch_size=settings["batch_size"],
        )


def geometry_summary(
    models: Sequence[str],
    samples: Sequence[str],
    pruning: Sequence[str],
    features: Sequence[str],
    outputs: Mapping[str, str],
    seed: int = 0,
) -> None:
    """Correlation tables, embeddings and figures across the models."""
    from kstarlab.geometry.analysis import summarise_models

    summarise_models(models, samples, pruning, features, outputs, seed=seed)
