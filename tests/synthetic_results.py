"""A results folder of synthetic values in the workflow's real file formats, written by the
library's own writers: the explorer's tests (small, over the digits' test images) and its
size benchmark at ImageNet scale (benchmarks/explorer_bench.py).

Latents are Gaussian clusters (one per class); k* is computed on them by `kstar_file`, as
the k* job does. A pruning study's entities get per-sample geometry and predictions whose
error rate grows with sparsity and corruption, written by `write_analysis`; its embedding
map is computed from them with the geometry's embedding functions (classical MDS).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from kstarlab import names, paths
from kstarlab.io import write_csv
from kstarlab.kstar.files import kstar_file
from kstarlab.kstar.tables import SUMMARY_COLUMNS
from kstarlab.pruning.analysis_files import write_analysis

STUDY = "synthetic"


def _clusters(n: int, n_classes: int, dim: int, rng: np.random.Generator) -> tuple:
    y = np.arange(n) % n_classes
    centres = rng.normal(scale=3.0, size=(n_classes, dim))
    X = centres[y] + rng.normal(size=(n, dim))
    return X.astype(np.float32), y.astype(np.int64)


def write_latents(
    file: Path, X: np.ndarray, y: np.ndarray, class_names: Sequence[str], dataset: dict
) -> None:
    """A latents file as the extraction writes one (layer ``logit``, dataset attributes)."""
    file.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(file, "w") as h5:
        h5.create_dataset("latents/logit", data=X)
        h5.create_dataset("labels", data=y)
        h5.create_dataset("predictions", data=y)
        h5.attrs["class_names"] = list(class_names)
        h5.attrs["dataset"] = dataset["dataset"]
        h5.attrs["dataset_params"] = json.dumps(dataset["params"], sort_keys=True)


def write_kstar(
    root: Path,
    cells: Sequence[tuple[str, str, str, str]],
    n: int,
    n_classes: int,
    *,
    dataset: dict,
    seed: int = 0,
) -> None:
    """Every cell's latents file, per-sample and per-class tables, and the summary."""
    rng = np.random.default_rng(seed)
    class_names = [f"class{c}" for c in range(n_classes)]
    frames = []
    for model, layer, transform, metric in cells:
        latents = paths.rebase(paths.latents(model, transform), root)
        if not latents.is_file():
            X, y = _clusters(n, n_classes, 10, rng)
            write_latents(latents, X, y, class_names, dataset)
        samples = paths.rebase(paths.kstar_cell(model, layer, transform, metric), root)
        classes = paths.rebase(paths.kstar_cell(model, layer, transform, metric, "classes"), root)
        samples.parent.mkdir(parents=True, exist_ok=True)
        tables = kstar_file(
            latents,
            layer,
            metric=metric,
            resamples=None,
            out_samples=samples,
            out_classes=classes,
        )
        frame = tables.summary.copy()
        frame["model"], frame["layer"], frame["transform"], frame["metric"] = (
            model,
            layer,
            transform,
            metric,
        )
        for column in SUMMARY_COLUMNS:
            if column not in frame:
                frame[column] = np.nan
        frames.append(frame[SUMMARY_COLUMNS])
    summary = paths.rebase(paths.KSTAR_SUMMARY, root)
    write_csv(pd.concat(frames, ignore_index=True), summary, index=False, float_format="%.17g")


def write_pruning(
    root: Path,
    n: int,
    n_classes: int,
    n_pruned: int,
    benchmarks: Sequence[str],
    *,
    image_size: int = 16,
    seed: int = 0,
    images: np.ndarray | None = None,
) -> None:
    """A pruning study (`STUDY`): analysis files, embedding map, benchmark images."""
    from kstarlab.geometry.embedding import (
        classical_mds,
        embedding_vectors,
        entity_distances,
        minimum_spanning_tree,
    )
    from kstarlab.pruning.comparison import embedding_entities, load_study

    rng = np.random.default_rng(seed)
    y = (np.arange(n) % n_classes).astype(np.int64)
    folder = paths.rebase(paths.PRUNING, root) / STUDY
    (folder / "analysis").mkdir(parents=True, exist_ok=True)
    base = {"angle": rng.uniform(20, 70, n), "length": rng.gamma(8.0, 2.0, n)}
    entities = [("dense", paths.DENSE, 0.0)]
    sparsities = (0.5, 0.8, 0.9)
    for i in range(n_pruned):
        approach = names.APPROACHES[i % len(names.APPROACHES)]
        sparsity = sparsities[(i // len(names.APPROACHES)) % len(sparsities)]
        entities.append((paths.pruned_entity(approach, sparsity), approach, sparsity))
    files = []
    for e, (entity, approach, sparsity) in enumerate(entities):
        feats = {}
        for b, bench in enumerate(["clean", *benchmarks]):
            noise = 0.05 + 0.3 * sparsity * rng.uniform() + 0.1 * b / max(len(benchmarks), 1)
            angle = base["angle"] + rng.normal(0, 5 + 10 * noise, n)
            length = base["length"] * (1 - 0.3 * noise) + rng.normal(0, 1, n)
            wrong = rng.uniform(size=n) < noise
            pred = np.where(wrong, (y + 1 + rng.integers(0, n_classes - 1, n)) % n_classes, y)
            margin = np.where(wrong, -1, 1) * rng.gamma(2.0, 1.0, n)
            feats[bench] = {"angle": angle, "length": length, "margin": margin, "predictions": pred}
        meta = {
            "entity": entity,
            "approach": approach,
            "sparsity": sparsity,
            "measured_sparsity": sparsity,
            "arch": "synthetic",
            "seed": e,
            "train_seconds": 0.0,
            "benchmarks": list(benchmarks),
        }
        file = paths.rebase(paths.pruning_analysis(STUDY, entity), root)
        write_analysis(file, meta, y, feats)
        files.append(file)
    study = load_study(files)
    ents, info = embedding_entities(study)
    names_, vectors = embedding_vectors(ents)
    dist = entity_distances(vectors)
    coords = pd.DataFrame(classical_mds(dist), index=names_, columns=["x", "y"])
    table = info.join(coords)
    neighbours: dict[str, list[str]] = {name: [] for name in names_}
    for i, j, _ in minimum_spanning_tree(dist):
        neighbours[names_[i]].append(names_[j])
        neighbours[names_[j]].append(names_[i])
    table["tree_neighbours"] = [" ".join(sorted(neighbours[k])) for k in table.index]
    write_csv(table, folder / paths.PRUNING_TABLES["embedding"], float_format="%.17g")
    with h5py.File(paths.rebase(paths.pruning_benchmarks(STUDY), root), "w") as h5:
        h5.attrs["benchmarks"] = json.dumps(list(benchmarks))
        h5.create_dataset("labels", data=y)
        for b, bench in enumerate(["clean", *benchmarks]):
            if images is not None:
                data = np.clip(images + 0.1 * b * rng.normal(size=images.shape), 0, 1)
            else:
                grid = np.linspace(0, 1, image_size)
                data = y[:, None, None] / n_classes + grid[None, :, None] * grid[None, None, :]
                data = (data[:, None] % 1.0).astype(np.float32)
            h5.create_dataset(f"images/{bench}", data=np.asarray(data, dtype=np.float32))


def write_geometry(
    root: Path,
    models: Sequence[str],
    n: int,
    n_classes: int,
    benchmarks: Sequence[str],
    sparsities: Sequence[float] = (0.5, 0.9),
    *,
    seed: int = 0,
) -> None:
    """The geometry section: per model the features file (the layout
    `kstarlab.geometry.analysis.analyse_model` writes: ``clean``, ``corrupt/<b>``,
    ``pruned/<s>``) and the per-sample table, and the embedding map across models (classical
    MDS here, the summary's UMAP otherwise; same index and ``kind`` column)."""
    from kstarlab.geometry.analysis import read_entities
    from kstarlab.geometry.embedding import classical_mds, embedding_vectors, entity_distances

    rng = np.random.default_rng(seed)
    y = (np.arange(n) % n_classes).astype(np.int64)
    entities, kinds = {}, {}
    for m, model in enumerate(models):
        features = paths.rebase(paths.geometry_model(model, "features"), root)
        features.parent.mkdir(parents=True, exist_ok=True)
        groups = {"clean": 0.05 + 0.02 * m}
        groups.update({f"corrupt/{b}": 0.2 + 0.05 * i for i, b in enumerate(benchmarks)})
        groups.update({f"pruned/{s:g}": s / 2 for s in sparsities})
        correct = {}
        with h5py.File(features, "w") as h5:
            h5.attrs["model"] = model
            h5.create_dataset("labels", data=y)
            for name, noise in groups.items():
                wrong = rng.uniform(size=n) < noise
                pred = np.where(wrong, (y + 1) % n_classes, y)
                group = h5.create_group(name)
                group.create_dataset("angle", data=rng.uniform(20, 70, n) + 30 * noise)
                group.create_dataset("length", data=rng.gamma(8.0, 2.0, n) * (1 - noise))
                group.create_dataset("margin", data=np.where(wrong, -1, 1) * rng.gamma(2, 1, n))
                group.create_dataset("angles_all", data=rng.uniform(20, 90, (n, n_classes)))
                group.create_dataset("predictions", data=pred)
                correct[name] = ~wrong
        clean = read_entities(features)["clean"]
        corrupt = np.mean([correct[f"corrupt/{b}"] for b in benchmarks], axis=0)
        pruned = np.mean([correct[f"pruned/{s:g}"] for s in sparsities], axis=0)
        table = pd.DataFrame(
            {
                "label": y,
                **{k: clean[k] for k in ("angle", "length", "margin")},
                "prediction": clean["predictions"],
                "corruption_robustness": corrupt,
                "prune_correct_fraction": pruned,
                "first_flip_sparsity": np.nan,
            }
        )
        write_csv(table, paths.rebase(paths.geometry_model(model, "samples"), root), index=False)
        for name, feats in read_entities(features).items():
            kind, _, what = name.partition("/")
            label = model if name == "clean" else f"{model} " + what
            if kind == "pruned":
                label = f"{model} pruned {what}"
            entities[label] = feats
            kinds[label] = "model" if name == "clean" else kind
    names_, vectors = embedding_vectors(entities)
    coords = pd.DataFrame(
        classical_mds(entity_distances(vectors)), index=names_, columns=["x", "y"]
    )
    coords["kind"] = [kinds[k] for k in coords.index]
    write_csv(coords, paths.rebase(paths.geometry_table("embedding"), root), float_format="%.17g")
