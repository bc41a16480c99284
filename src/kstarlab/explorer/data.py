"""What the explorer page shows, read from a results folder into one JSON-ready payload.

Sources (all under the results folder, named by `kstarlab.paths`):

- each pruning study ``pruning/<study>/``: the analysis files (every entity's per-sample
  angle, length, margin and predictions, clean and under each corrupted benchmark), the
  embedding map with its spanning tree, and the benchmark images;
- every k* cell of ``kstar/summary.csv``: the per-class μ, σ, γ and pattern, and the cell's
  per-sample table (k* and the nearest sample of another class);
- each study's projection coordinates (``figures/<study>/projections.csv``), when made.

Views of many samples get a class-stratified, seeded sample of at most `MAX_POINTS`
samples (the page says so); per-class statistics and the lowest-k* lists are always
computed on every sample. Values are copied from the files unrounded, so the page's data
equal the results files (tests/unit/test_explorer.py).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from kstarlab import paths
from kstarlab.errors import InputError
from kstarlab.explorer.images import image_sheet
from kstarlab.explorer.limits import MAX_POINTS, lowest_shown

#: Geometry features of an analysis file, as the page names them.
FEATURES = ("angle", "length", "margin")
#: The clean samples' name among the benchmarks.
CLEAN_NAME = "clean"


def stratified_sample(labels: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """Sorted indices of ``limit`` samples (every index when there are no more), drawn with
    ``seed``: each class gets its share of ``limit`` (largest remainders), at least one."""
    labels = np.asarray(labels)
    n = labels.size
    if n <= limit:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    share = limit * counts / n
    quota = np.floor(share).astype(np.int64)
    extra = limit - int(quota.sum())
    quota[np.argsort(-(share - quota), kind="stable")[:extra]] += 1
    quota = np.minimum(np.maximum(quota, 1), counts)
    keep = [
        rng.choice(np.flatnonzero(labels == c), size=int(q), replace=False)
        for c, q in zip(classes, quota, strict=True)
    ]
    return np.sort(np.concatenate(keep))


def _floats(values: Any) -> list[float | None]:
    """A float array as a JSON list, non-finite values as null."""
    arr = np.asarray(values, dtype=np.float64)
    return [float(v) if math.isfinite(v) else None for v in arr.tolist()]


def _ints(values: Any) -> list[int]:
    return np.asarray(values, dtype=np.int64).tolist()


# --------------------------------------------------------------------------- pruning studies


def pruning_study(
    results: Path,
    name: str,
    analyses: Sequence[str | os.PathLike[str]] | None = None,
    *,
    limit: int,
    seed: int,
    images: bool = True,
) -> dict[str, Any]:
    """One pruning study: its map, the samples' geometry and predictions per entity, the
    benchmarks' similarity and the benchmark images of the shown samples. ``analyses``:
    its analysis files (default: every file of its ``analysis/`` folder)."""
    from kstarlab.geometry.embedding import embedding_vectors, entity_distances, similarity_order
    from kstarlab.pruning.analysis_files import CLEAN
    from kstarlab.pruning.comparison import load_study, models_table

    folder = paths.rebase(paths.PRUNING, results) / name
    if analyses is None:
        analyses = sorted((folder / "analysis").glob("*.h5"))
    if not analyses:
        raise InputError(f"pruning study {name!r}: no analysis files in {folder / 'analysis'}")
    study = load_study(analyses)
    dense = study[0]
    bench = list(dense.benchmarks)
    models = models_table(study).set_index("entity")
    embedding_file = folder / paths.PRUNING_TABLES["embedding"]
    if not embedding_file.is_file():
        raise InputError(f"pruning study {name!r}: no embedding map {embedding_file}")
    embedding = pd.read_csv(embedding_file, index_col=0, keep_default_na=False)
    shown = stratified_sample(dense.labels, limit, seed)
    n_pruned = len(study) - 1
    pruned_correct = np.sum([a.correct()[shown] for a in study[1:]], axis=0)

    entities, features = [], {}
    for a in study:
        row = models.loc[a.entity]
        entities.append(
            {
                "name": a.entity,
                "kind": "dense" if a.is_dense else "pruned",
                "approach": a.approach,
                "sparsity": a.sparsity,
                "accuracy": float(row["clean_accuracy"]),
                "corruption_accuracy": float(row["corruption_accuracy"]),
                "relative_robustness": _floats([row["relative_robustness"]])[0],
            }
        )
        clean = a.features[CLEAN]
        features[a.entity] = {
            **{f: _floats(clean[f][shown]) for f in FEATURES},
            "predictions": {b: _ints(a.features[b]["predictions"][shown]) for b in (CLEAN, *bench)},
            "corruption_robustness": _floats(a.corruption_robustness(bench)[shown]),
        }
    for b in bench:
        entity = f"{dense.entity}:{b}"
        part = dense.features[b]
        entities.append(
            {
                "name": entity,
                "kind": "benchmark",
                "approach": "benchmark",
                "sparsity": 0.0,
                "benchmark": b,
                "accuracy": dense.accuracy(b),
                "corruption_accuracy": dense.accuracy(b),
                "relative_robustness": None,
            }
        )
        features[entity] = {
            **{f: _floats(part[f][shown]) for f in FEATURES},
            "predictions": {b: _ints(part["predictions"][shown])},
            "corruption_robustness": _floats(dense.correct(b)[shown]),
        }
    for entity in entities:
        if entity["name"] not in embedding.index:
            raise InputError(f"{embedding_file}: no row for entity {entity['name']!r}")
        spot = embedding.loc[entity["name"]]
        entity["x"], entity["y"] = float(spot["x"]), float(spot["y"])
        entity["tree"] = str(spot["tree_neighbours"]).split()

    sets = {b: dense.features[b] for b in (CLEAN, *bench)}
    names_, vectors = embedding_vectors(sets)
    dist = entity_distances(vectors)
    order = similarity_order(dist)
    similarity = {
        "names": [names_[i] for i in order],
        "entities": [
            dense.entity if names_[i] == CLEAN else f"{dense.entity}:{names_[i]}" for i in order
        ],
        "distances": [_floats(dist[i, order]) for i in order],
    }
    out = {
        "name": name,
        "dense": dense.entity,
        "benchmarks": [CLEAN, *bench],
        "n_samples": int(dense.labels.size),
        "samples": _ints(shown),
        "labels": _ints(dense.labels[shown]),
        "n_pruned": n_pruned,
        "pruning_robustness": _floats(pruned_correct / max(n_pruned, 1)),
        "entities": entities,
        "features": features,
        "similarity": similarity,
        "images": None,
    }
    bench_file = paths.rebase(paths.pruning_benchmarks(name), results)
    if images and bench_file.is_file():
        with h5py.File(bench_file, "r") as h5:
            out["images"] = {
                b: image_sheet(h5[f"images/{b}"][shown])
                for b in (CLEAN, *bench)
                if f"images/{b}" in h5
            }
    return out


# --------------------------------------------------------------------------- the geometry section

#: The map study of the geometry section (the zoo models, results/geometry/).
GEOMETRY_STUDY = "geometry"


def geometry_study(
    results: Path, models: Sequence[str], *, limit: int, seed: int
) -> dict[str, Any]:
    """The geometry section as a map study: each model, the model under each corrupted
    benchmark (``<model> <benchmark>``) and pruned by the one-shot probe (``<model> pruned
    <s>``), at the coordinates of ``geometry/embedding.csv`` and linked by the spanning tree
    of the same entity distances the summary draws; per model the samples' geometry, its
    predictions under each benchmark, its corruption robustness and its pruning robustness
    (``prune_correct_fraction``: the share of pruning levels it survives)."""
    from kstarlab.geometry.analysis import read_entities
    from kstarlab.geometry.embedding import (
        embedding_vectors,
        entity_distances,
        minimum_spanning_tree,
        similarity_order,
    )

    if not models:
        raise InputError("the geometry section lists no model")
    embedding_file = paths.rebase(paths.geometry_table("embedding"), results)
    if not embedding_file.is_file():
        raise InputError(f"geometry section: no embedding map {embedding_file}")
    embedding = pd.read_csv(embedding_file, index_col=0, keep_default_na=False)
    read = {
        m: read_entities(paths.rebase(paths.geometry_model(m, "features"), results)) for m in models
    }
    tables = {
        m: pd.read_csv(paths.rebase(paths.geometry_model(m, "samples"), results)) for m in models
    }
    labels = tables[models[0]]["label"].to_numpy(dtype=np.int64)
    for m in models:
        if not np.array_equal(tables[m]["label"].to_numpy(), labels):
            raise InputError(f"geometry section: model {m} covers other samples than {models[0]}")
    shown = stratified_sample(labels, limit, seed)
    bench = [name.split("/", 1)[1] for name in read[models[0]] if name.startswith("corrupt/")]
    entities, features, vectors_of = [], {}, {}
    for m in models:
        groups = read[m]
        correct = {b: groups[f"corrupt/{b}"]["predictions"] == labels for b in bench}
        clean = groups["clean"]
        vectors_of[m] = clean
        entities.append(
            {
                "name": m,
                "kind": "dense",
                "approach": m,
                "sparsity": 0.0,
                "accuracy": float(np.mean(clean["predictions"] == labels)),
                "corruption_accuracy": float(np.mean([c.mean() for c in correct.values()])),
                "relative_robustness": None,
            }
        )
        features[m] = {
            **{f: _floats(clean[f][shown]) for f in FEATURES},
            "predictions": {
                CLEAN_NAME: _ints(clean["predictions"][shown]),
                **{b: _ints(groups[f"corrupt/{b}"]["predictions"][shown]) for b in bench},
            },
            "corruption_robustness": _floats(tables[m]["corruption_robustness"].to_numpy()[shown]),
            "pruning_robustness": _floats(tables[m]["prune_correct_fraction"].to_numpy()[shown]),
        }
        for name, part in groups.items():
            if name == "clean":
                continue
            kind, what = name.split("/", 1)
            entity = f"{m} {what}" if kind == "corrupt" else f"{m} pruned {what}"
            vectors_of[entity] = part
            entities.append(
                {
                    "name": entity,
                    "kind": "benchmark" if kind == "corrupt" else "pruned",
                    "approach": "benchmark" if kind == "corrupt" else "oneshot",
                    "sparsity": 0.0 if kind == "corrupt" else float(what),
                    "benchmark": what if kind == "corrupt" else None,
                    "model": m,
                    "accuracy": float(np.mean(part["predictions"] == labels)),
                    "corruption_accuracy": float(np.mean(part["predictions"] == labels)),
                    "relative_robustness": None,
                }
            )
            features[entity] = {
                **{f: _floats(part[f][shown]) for f in FEATURES},
                "predictions": {
                    (what if kind == "corrupt" else CLEAN_NAME): _ints(part["predictions"][shown])
                },
                "corruption_robustness": _floats(
                    (part["predictions"] == labels)[shown].astype(np.float64)
                ),
            }
    names_, vectors = embedding_vectors(vectors_of)
    neighbours: dict[str, list[str]] = {n: [] for n in names_}
    for i, j, _ in minimum_spanning_tree(entity_distances(vectors)):
        neighbours[names_[i]].append(names_[j])
        neighbours[names_[j]].append(names_[i])
    for entity in entities:
        if entity["name"] not in embedding.index:
            raise InputError(f"{embedding_file}: no row for entity {entity['name']!r}")
        spot = embedding.loc[entity["name"]]
        entity["x"], entity["y"] = float(spot["x"]), float(spot["y"])
        entity["tree"] = sorted(neighbours[entity["name"]])
    # benchmarks compared over every model's samples, as the summary's heatmap does
    sets = {
        b: {
            f: np.concatenate(
                [read[m]["clean" if b == CLEAN_NAME else f"corrupt/{b}"][f] for m in models]
            )
            for f in FEATURES
        }
        for b in (CLEAN_NAME, *bench)
    }
    names_, vectors = embedding_vectors(sets)
    dist = entity_distances(vectors)
    order = similarity_order(dist)
    members = {b: [m if b == CLEAN_NAME else f"{m} {b}" for m in models] for b in names_}
    return {
        "name": GEOMETRY_STUDY,
        "dense": models[0],
        "benchmarks": [CLEAN_NAME, *bench],
        "n_samples": int(labels.size),
        "samples": _ints(shown),
        "labels": _ints(labels[shown]),
        "n_pruned": None,
        "pruning_robustness": None,
        "pruning_label": "pruning robustness (share of the one-shot pruning levels it survives)",
        "entities": entities,
        "features": features,
        "similarity": {
            "names": [names_[i] for i in order],
            "entities": [members[names_[i]] for i in order],
            "distances": [_floats(dist[i, order]) for i in order],
        },
        "images": None,
    }


# --------------------------------------------------------------------------- k* cells

CELL_KEYS = ("model", "layer", "transform", "metric")


def cell_key(cell: Sequence[str]) -> str:
    """The page's name of a k* cell: ``model/layer/transform/metric``."""
    return "/".join(str(part) for part in cell)


def kstar_cell(
    results: Path, cell: Sequence[str], classes: pd.DataFrame, *, limit: int, seed: int
) -> tuple[dict[str, Any], dict[str, Any] | None, list[int]]:
    """One k* cell: per-class statistics, a sample of values for the distributions, the
    lowest-k* samples of each class with their nearest other-class sample; the cell's image
    source (its latents file's dataset) and the dataset indices whose images it shows."""
    samples_file = paths.rebase(paths.kstar_cell(*cell), results)
    if not samples_file.is_file():
        raise InputError(f"k* cell {cell_key(cell)}: no per-sample table {samples_file}")
    table = pd.read_csv(samples_file)
    k = table["kstar"].to_numpy(dtype=np.float64)
    y = table["label"].to_numpy(dtype=np.int64)
    index = table["index"].to_numpy(dtype=np.int64)
    shown = stratified_sample(y, limit, seed)
    has_nearest = "nearest" in table.columns
    lowest: dict[str, list[dict[str, Any]]] = {}
    needed: set[int] = set()
    label_of = dict(zip(index.tolist(), y.tolist(), strict=True))
    shown_per_class = lowest_shown(np.unique(y).size)
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        order = members[np.lexsort((index[members], k[members]))][:shown_per_class]
        rows = []
        for i in order:
            entry = {"index": int(index[i]), "kstar": float(k[i])}
            needed.add(int(index[i]))
            if has_nearest:
                j = int(table["nearest"].iloc[i])
                entry["nearest"] = j
                entry["nearest_label"] = int(label_of[j])
                needed.add(j)
            rows.append(entry)
        lowest[str(int(c))] = rows
    labels = np.unique(y)  # the summary's rows are the classes in label order
    if len(labels) != len(classes):
        raise InputError(
            f"k* cell {cell_key(cell)}: {len(classes)} classes in the summary, "
            f"{len(labels)} labels in {samples_file}"
        )
    source = None
    latents_file = paths.rebase(paths.latents(cell[0], cell[2]), results)
    if latents_file.is_file():
        with h5py.File(latents_file, "r") as h5:
            source = {
                "dataset": str(h5.attrs.get("dataset", "")),
                "params": json.loads(str(h5.attrs.get("dataset_params", "{}"))),
            }
    out = {
        "key": cell_key(cell),
        **dict(zip(CELL_KEYS, cell, strict=True)),
        "n_samples": int(k.size),
        "classes": [
            {
                "class": int(label),
                "name": str(row["class"]),
                "n": int(row["n"]),
                "mean": float(row["mean"]),
                "std": float(row["std"]),
                "skew": _floats([row["skew"]])[0],
                "pattern": str(row["pattern"]),
            }
            for label, (_, row) in zip(labels, classes.iterrows(), strict=True)
        ],
        "samples": _ints(index[shown]),
        "labels": _ints(y[shown]),
        "kstar": _floats(k[shown]),
        "lowest": lowest,
        "has_nearest": has_nearest,
    }
    return out, source, sorted(needed)


def _source_images(source: Mapping[str, Any], indices: Sequence[int]) -> dict[str, Any] | None:
    """Thumbnails of the dataset samples ``indices`` of a latents file's dataset (clean
    inputs: a cell's transform is not applied), or None where the dataset has no images."""
    from kstarlab.latents.datasets import load_digits, load_imagefolder

    params = source["params"]
    if source["dataset"] == "digits":
        data = load_digits(split=params.get("split", "test"), seed=int(params.get("seed", 0)))
    elif source["dataset"] == "imagefolder" and "root" in params:
        data = load_imagefolder(
            params["root"], resize=int(params["resize"]), crop=int(params["crop"])
        )
    else:
        return None
    if not indices:
        return None
    stack = np.stack([np.asarray(data.dataset[i][0]) for i in indices])
    return {"samples": [int(i) for i in indices], "sheet": image_sheet(stack)}


# --------------------------------------------------------------------------- projections


def projections(results: Path, study: str, *, limit: int) -> list[dict[str, Any]] | None:
    """The 2-D projections of a study's cells (rule study_projections' coordinates)."""
    file = paths.rebase(paths.study_projection_coordinates(study), results)
    if not file.is_file():
        return None
    table = pd.read_csv(file, keep_default_na=False)
    methods = [c[: -len("_x")] for c in table.columns if c.endswith("_x")]
    out = []
    for cell, rows in table.groupby(list(CELL_KEYS), sort=False):
        rows = rows.iloc[:limit]
        out.append(
            {
                "key": cell_key(cell),
                "samples": _ints(rows["sample"]),
                "labels": _ints(rows["label"]),
                "kstar": _floats(rows["kstar"]),
                "coords": {m: [_floats(rows[f"{m}_x"]), _floats(rows[f"{m}_y"])] for m in methods},
            }
        )
    return out


# --------------------------------------------------------------------------- the payload


def _class_names(results: Path, n_classes: int) -> list[str]:
    for file in sorted(paths.rebase(paths.LATENTS, results).glob("*/*.h5")):
        with h5py.File(file, "r") as h5:
            names_ = h5.attrs.get("class_names")
            if names_ is not None and len(names_) >= n_classes:
                return [str(c) for c in names_]
    return [str(c) for c in range(n_classes)]


def cells_by_model(results: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The k* cells of ``kstar/summary.csv`` grouped by model (a study per model): the
    grouping of a results folder whose workflow config is not at hand."""
    file = paths.rebase(paths.KSTAR_SUMMARY, results)
    if not file.is_file():
        return {}
    summary = pd.read_csv(file, usecols=list(CELL_KEYS), dtype=str, keep_default_na=False)
    cells = summary.drop_duplicates().itertuples(index=False)
    out: dict[str, dict[str, Any]] = {}
    for cell in cells:
        out.setdefault(cell[0], {"cells": []})["cells"].append(list(cell))
    return out


def collect_explorer(
    results: str | os.PathLike[str],
    *,
    studies: Mapping[str, Mapping[str, Any]] | None = None,
    pruning: Mapping[str, Sequence[str | os.PathLike[str]]] | None = None,
    geometry: Sequence[str] | None = None,
    limit: int = MAX_POINTS,
    seed: int = 0,
    images: bool = True,
) -> dict[str, Any]:
    """The explorer's payload from the results folder ``results``.

    ``studies`` maps each k* study to its description (``cells``: (model, layer,
    transform, metric) lists, optional ``caption``), as the workflow plans them; without
    it every cell of ``kstar/summary.csv`` is listed under one study, ``cells``.
    ``pruning`` maps each pruning study to its analysis files; without it, every study
    folder of ``pruning/`` with its ``analysis/`` files. ``geometry`` lists the geometry
    section's models (a map study after the pruning studies, `geometry_study`); without it,
    the models of ``geometry/embedding.csv`` when there is one.
    """
    root = Path(results)
    if not root.is_dir():
        raise InputError(f"results folder not found: {root}")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 10:
        raise InputError(f"limit must be an integer >= 10, got {limit!r}")
    notes: list[str] = []

    if pruning is None:
        folder = paths.rebase(paths.PRUNING, root)
        found = (
            sorted(p for p in folder.iterdir() if (p / "analysis").is_dir())
            if folder.is_dir()
            else []
        )
        pruning = {p.name: sorted((p / "analysis").glob("*.h5")) for p in found}
    pruning_studies = [
        pruning_study(root, name, files, limit=limit, seed=seed, images=images)
        for name, files in pruning.items()
    ]
    if geometry is None:
        table = paths.rebase(paths.geometry_table("embedding"), root)
        geometry = []
        if table.is_file():
            kinds = pd.read_csv(table, index_col=0, keep_default_na=False)["kind"]
            geometry = [str(m) for m in kinds.index[kinds == "model"]]
    if geometry:
        pruning_studies.append(geometry_study(root, list(geometry), limit=limit, seed=seed))
    for p in pruning_studies:
        if len(p["samples"]) < p["n_samples"]:
            notes.append(
                f"pruning study {p['name']}: the sample views draw a class-stratified sample of "
                f"{len(p['samples']):,} of its {p['n_samples']:,} samples"
            )

    summary_file = paths.rebase(paths.KSTAR_SUMMARY, root)
    cells: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    sources: dict[str, tuple[dict[str, Any], set[int]]] = {}
    if summary_file.is_file():
        summary = pd.read_csv(
            summary_file,
            dtype={"class": str, **dict.fromkeys(CELL_KEYS, str)},
            keep_default_na=False,
            na_values=[""],
        )
        by_cell = {cell: rows for cell, rows in summary.groupby(list(CELL_KEYS), sort=False)}
        if studies is None:
            studies = {"cells": {"cells": [list(c) for c in by_cell]}}
        seen: dict[str, dict[str, Any]] = {}
        for study, entry in studies.items():
            keys = []
            for cell in entry["cells"]:
                cell = tuple(str(part) for part in cell)
                if cell not in by_cell:
                    raise InputError(
                        f"study {study!r}: cell {cell_key(cell)} is not in {summary_file}"
                    )
                key = cell_key(cell)
                if key not in seen:
                    info, source, needed = kstar_cell(
                        root, cell, by_cell[cell], limit=limit, seed=seed
                    )
                    if source is not None:
                        sid = json.dumps(source, sort_keys=True)
                        info["images"] = sid
                        sources.setdefault(sid, (source, set()))[1].update(needed)
                    seen[key] = info
                    cells.append(info)
                keys.append(key)
            groups.append(
                {
                    "name": study,
                    "caption": str(entry.get("caption", "")),
                    "cells": keys,
                    "projections": projections(root, study, limit=limit),
                }
            )
        if any(len(c["samples"]) < c["n_samples"] for c in cells):
            notes.append(
                f"k* distributions are drawn from a class-stratified sample of at most {limit:,} "
                "samples per cell; μ, σ, γ, the pattern and the lowest-k* lists use every sample"
            )
        if cells and not all(c["has_nearest"] for c in cells):
            notes.append("some k* tables lack the nearest other-class sample: rerun their k* jobs")
    kstar_images = {}
    if images:
        for sid, (source, needed) in sources.items():
            sheet = _source_images(source, sorted(needed))
            if sheet is not None:
                kstar_images[sid] = sheet
        if kstar_images:
            notes.append(
                "k* views show each sample's clean input image (the cell's transform is not applied)"
            )

    n_classes = 1 + max(
        [max(p["labels"]) for p in pruning_studies if p["labels"]]
        + [max(c["labels"]) for c in cells if c["labels"]]
        + [0]
    )
    return {
        "format": 1,
        "limit": limit,
        "class_names": _class_names(root, n_classes),
        "pruning": pruning_studies,
        "kstar": {"cells": cells, "studies": groups, "images": kstar_images},
        "notes": notes,
    }
