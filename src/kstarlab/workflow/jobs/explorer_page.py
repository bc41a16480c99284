"""The run's interactive explorer page (rule explorer)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def explorer(settings: Mapping[str, Any], pruning: Mapping[str, Sequence[str]], out: str) -> None:
    """`kstarlab.explorer.write_explorer` over the planned k* studies (``settings["studies"]``),
    the geometry section's models (``settings["geometry"]``) and the pruning studies'
    analysis files (``pruning``: study -> files), into ``out``."""
    from kstarlab.explorer import MAX_POINTS, write_explorer

    write_explorer(
        settings["folder"],
        out,
        studies=settings["studies"],
        pruning={name: list(files) for name, files in pruning.items()},
        geometry=settings["geometry"],
        limit=settings["max_points"] or MAX_POINTS,
        seed=settings["seed"],
    )
