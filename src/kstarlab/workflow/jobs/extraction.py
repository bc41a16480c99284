"""Extracting the latents of one model under one transform."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kstarlab.workflow.jobs.inputs import load_images, load_model_entry
from kstarlab.workflow.jobs.runtime import log


def extract(
    model_name: str,
    model: Mapping[str, Any],
    transform: str,
    settings: Mapping[str, Any],
    out: str,
    device: str = "cpu",
    prepared: str | None = None,
) -> None:
    """Extract the planned layers of one model under one transform to HDF5 (``prepared``:
    the data rule's digits file)."""
    from kstarlab.latents.extraction import extract as run_extract

    loaded = load_model_entry(model_name, model, settings["seed"])
    data = load_images(settings["dataset"], prepared)
    ext = settings["extraction"]
    transform_arg: Any = transform
    if transform != "clean":
        from kstarlab.perturb import parse_transform

        transform_arg = parse_transform(
            transform, seed=settings["seed"], config=perturb_config(settings)
        )
    result = run_extract(
        loaded,
        data,
        settings["layers"],
        out,
        transform=transform_arg,
        batch_size=ext["batch_size"],
        float16=ext["float16"],
        pool_above=ext.get("pool_above"),
        compression=ext["compression"],
        seed=settings["seed"],
        device=device,
    )
    log.info(
        "extracted %s: accuracy %.4f, %.0f img/s", out, result.accuracy, result.images_per_second
    )


def perturb_config(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The workflow's ``pgd:`` and ``style:`` settings as `kstarlab.perturb` options."""
    out: dict[str, Any] = {}
    if "pgd" in settings:
        pgd = settings["pgd"]
        out.update(
            pgd_steps=pgd["steps"],
            pgd_rel_stepsize=pgd["rel_stepsize"],
            pgd_random_start=pgd["random_start"],
        )
    if "style" in settings:
        style = settings["style"]
        out.update(
            adain_encoder=style.get("encoder"),
            adain_decoder=style.get("decoder"),
            adain_styles=style.get("styles"),
        )
    return out
