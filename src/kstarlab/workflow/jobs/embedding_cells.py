"""k* of one embedding file of another domain (Table XXI), as the k* job of a latent space."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kstarlab.errors import InputError
from kstarlab.workflow.jobs.kstar_cells import kstar


def embedding_kstar(
    path: str, settings: Mapping[str, Any], out_samples: str, out_classes: str, device: str = "cpu"
) -> None:
    """k* of one embedding file, written as the `kstar` job writes a latent space's."""
    from kstarlab.kstar.embeddings import check_embedding

    check_embedding(path)
    try:
        kstar(path, None, settings, out_samples, out_classes, device=device)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
