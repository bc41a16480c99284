"""Geometric embeddings: models, corrupted benchmarks and pruned models as vectors.

An *entity* (a model, a model under one corruption, a pruned model) is described by the
per-sample (angle, length, margin) of a fixed, shared sample set. Each feature is
standardised with its mean and std pooled over all entities, so differences between
entities survive, and the entity's vector concatenates the standardised features.
Entities are then compared by distance, mapped to 2-D (UMAP, or classical MDS when there
are fewer than 5 entities) and linked by a minimum spanning tree.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import scipy.cluster.hierarchy
import scipy.sparse.csgraph
import scipy.spatial.distance

from kstarlab.errors import InputError
from kstarlab.extras import require

EMBED_FEATURES = ("angle", "length", "margin")
UMAP_MIN_ENTITIES = 5


def embedding_vectors(entities: Mapping[str, Any]) -> tuple[list[str], np.ndarray]:
    """Names and the (n_entities, 3 * n_samples) matrix of standardised features.

    Each value of ``entities`` maps "angle", "length" and "margin" to per-sample arrays
    (a DataFrame works) over the same samples in the same order. Non-finite values (an
    undefined angle) become the pooled mean, i.e. 0 after standardisation.
    """
    if not entities:
        raise InputError("no entities to embed")
    names = list(entities)
    sizes = set()
    blocks = []
    for feature in EMBED_FEATURES:
        cols = []
        for name in names:
            if feature not in entities[name]:
                raise InputError(f"entity {name!r} lacks feature {feature!r}")
            values = np.asarray(entities[name][feature], dtype=np.float64)
            sizes.add(values.shape)
            cols.append(values)
        if len(sizes) != 1:
            raise InputError(f"entities cover different sample sets: shapes {sorted(sizes)}")
        stacked = np.vstack(cols)
        finite = np.isfinite(stacked)
        if not finite.any():
            raise InputError(f"feature {feature!r} has no finite value")
        mean = stacked[finite].mean()
        std = stacked[finite].std()
        standard = (stacked - mean) / (std if std > 0 else 1.0)
        blocks.append(np.where(finite, standard, 0.0))
    return names, np.hstack(blocks)


def entity_distances(vectors: np.ndarray) -> np.ndarray:
    """Pairwise root-mean-square differences between entity vectors, (n, n)."""
    return scipy.spatial.distance.squareform(
        scipy.spatial.distance.pdist(vectors, "euclidean")
    ) / np.sqrt(vectors.shape[1])


def classical_mds(distances: np.ndarray, dim: int = 2) -> np.ndarray:
    """Torgerson's classical MDS: coordinates whose distances best match ``distances``."""
    n = distances.shape[0]
    centre = np.eye(n) - np.full((n, n), 1.0 / n)
    gram = -0.5 * centre @ (distances**2) @ centre
    values, vectors = np.linalg.eigh(gram)
    order = np.argsort(values)[::-1][:dim]
    coords = vectors[:, order] * np.sqrt(np.clip(values[order], 0.0, None))
    # Fix each axis's sign so the result is deterministic.
    signs = np.sign(coords[np.argmax(np.abs(coords), axis=0), np.arange(coords.shape[1])])
    coords = coords * np.where(signs == 0, 1.0, signs)
    if coords.shape[1] < dim:
        coords = np.hstack([coords, np.zeros((n, dim - coords.shape[1]))])
    return coords


def project_2d(distances: np.ndarray, *, seed: int = 0, method: str = "auto") -> np.ndarray:
    """2-D map of the entities: UMAP on the precomputed distances, MDS for < 5 entities."""
    n = distances.shape[0]
    if method not in ("auto", "umap", "mds"):
        raise InputError(f"unknown projection {method!r}; choose auto, umap or mds")
    if method == "mds" or (method == "auto" and n < UMAP_MIN_ENTITIES):
        return classical_mds(distances)
    if n < UMAP_MIN_ENTITIES:
        raise InputError(f"UMAP needs at least {UMAP_MIN_ENTITIES} entities, got {n}")
    umap = require("umap")  # heavy import (numba): only when used

    reducer = umap.UMAP(
        n_components=2,
        metric="precomputed",
        n_neighbors=min(15, n - 1),
        random_state=seed,
        n_jobs=1,
        init="random",
    )
    with warnings.catch_warnings():  # precomputed metric / seeded single thread: intended
        warnings.filterwarnings("ignore", category=UserWarning, module="umap")
        return reducer.fit_transform(distances)


def minimum_spanning_tree(distances: np.ndarray) -> list[tuple[int, int, float]]:
    """Edges (i, j, distance) of the minimum spanning tree, sorted, i < j.

    scipy treats a zero as "no edge", so identical entities get the smallest positive
    distance instead and stay connected.
    """
    dist = np.array(distances, dtype=np.float64)
    off = ~np.eye(dist.shape[0], dtype=bool)
    dist[off & (dist <= 0)] = np.finfo(np.float64).tiny
    tree = scipy.sparse.csgraph.minimum_spanning_tree(dist).tocoo()
    edges = []
    for i, j in zip(tree.row, tree.col, strict=True):
        a, b = sorted((int(i), int(j)))
        edges.append((a, b, float(distances[a, b])))
    return sorted(edges)


def similarity_order(distances: np.ndarray) -> np.ndarray:
    """Leaf order of average-linkage clustering, so similar benchmarks sit together."""
    if distances.shape[0] < 3:
        return np.arange(distances.shape[0])
    condensed = scipy.spatial.distance.squareform(distances, checks=False)
    linkage = scipy.cluster.hierarchy.linkage(condensed, method="average", optimal_ordering=True)
    return scipy.cluster.hierarchy.leaves_list(linkage)


def embed_entities(entities: Mapping[str, Any], *, seed: int = 0) -> dict[str, Any]:
    """Vectors, distances, 2-D coordinates and the spanning tree of the entities."""
    names, vectors = embedding_vectors(entities)
    distances = entity_distances(vectors)
    coords = project_2d(distances, seed=seed)
    return {
        "names": names,
        "distances": pd.DataFrame(distances, index=names, columns=names),
        "coords": pd.DataFrame(coords, index=names, columns=["x", "y"]),
        "tree": minimum_spanning_tree(distances),
    }
