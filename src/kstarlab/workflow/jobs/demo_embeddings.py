"""A demonstration embedding file for Table XXI, made here (kstarlab.kstar.embedding_demo)."""

from __future__ import annotations


def embedding_demo(demo: str, seed: int, out: str) -> None:
    """A demonstration embedding file: a scikit-learn table through an MLP's logits."""
    from kstarlab.kstar.embedding_demo import write_demo_embedding

    write_demo_embedding(demo, out, seed=seed)
