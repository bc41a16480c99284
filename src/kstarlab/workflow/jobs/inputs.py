"""Loading what the jobs read: the configured dataset and a configured model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def load_images(dataset: Mapping[str, Any], prepared: str | None = None) -> Any:
    """The dataset of a config's ``dataset:`` (or ``datasets.<name>``) entry; the digits
    from the ``prepared`` file of the data rule when given."""
    from kstarlab.latents.datasets import load_dataset

    if dataset["name"] == "digits":
        return load_dataset(
            "digits", split=dataset["split"], seed=dataset["split_seed"], prepared=prepared
        )
    return load_dataset(
        dataset["name"],
        root=dataset.get("root"),
        resize=dataset.get("resize", 256),
        crop=dataset.get("crop", 224),
        class_map=dataset.get("class_map"),
    )


def load_model_entry(name: str, entry: Mapping[str, Any], seed: int) -> Any:
    """The model of a config's ``models.<name>`` entry, loaded for evaluation."""
    from kstarlab.models.registry import ModelEntry, load_model

    return load_model(ModelEntry.from_dict(name, dict(entry)), seed=seed)
