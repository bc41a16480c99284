"""Table XXI's table and figure (the k* of each embedding file is
`kstarlab.workflow.jobs.embedding_cells`, the demonstration files `kstarlab.workflow.jobs.demo_embeddings`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def embedding_tables(
    classes: Sequence[str], settings: Mapping[str, Any], outputs: Mapping[str, str]
) -> None:
    """Table XXI of the configured embeddings, and their tidy per-class summary."""
    from kstarlab.kstar.embeddings import write_embedding_tables

    write_embedding_tables(
        classes,
        settings["sources"],
        outputs,
        tables=settings["tables"],
        caption=settings["caption"],
    )


def embedding_distributions(
    samples: Sequence[str], classes: Sequence[str], settings: Mapping[str, Any], out: str
) -> None:
    """k* per class of every configured embedding, one row each."""
    from kstarlab.kstar.embeddings import distributions_figure

    distributions_figure(samples, classes, settings["sources"], out)
