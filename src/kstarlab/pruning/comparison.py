"""The comparison of pruning approaches: what the robustness-lottery paper shows.

Every entity of a pruning study (the dense model and each pruned model) is analysed once,
by the per-model job, into an *analysis file* (`write_analysis`, HDF5, byte-reproducible):

- attributes ``entity`` (e.g. ``dense``, ``finetune-0.9``), ``approach`` (``dense`` or
  one of `APPROACH_ORDER`), ``sparsity`` (0 for the dense model), ``measured_sparsity``,
  ``arch``, ``seed``, ``train_seconds`` and ``benchmarks`` (a JSON list, in order);
- dataset ``labels`` (N,) int64;
- groups ``clean`` and ``benchmarks/<benchmark>``, each with ``angle``, ``length``,
  ``margin`` (N,) float64 and ``predictions`` (N,) int64: the last-layer geometry and the
  predictions of the entity on the clean samples and on each corrupted benchmark.

`summarise_pruning` reads a study's analysis files (same samples in the same order, the
dense model's benchmarks in every file) and writes the tables and figures of the paper:
accuracies per model and benchmark, per-sample geometry and correctness, feature/robustness
correlations, samples fragile to pruning and corruption, the robustness-lottery plot, the
similarity of the models' geometric embeddings, their embedding map together with the
corrupted benchmarks, and the per-class geometry of the biggest lottery winner against the
dense model.

*Relative robustness* of a model is its corruption accuracy over its clean accuracy,
divided by the dense model's ratio: above 1 the pruned model keeps more of its accuracy
under corruption than the dense model does (it lies above the lottery plot's diagonal).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from kstarlab import names, paths
from kstarlab.errors import InputError
from kstarlab.geometry.correlations import correlation_table
from kstarlab.io import atomic_path, write_csv

DENSE = paths.DENSE
CLEAN = "clean"
BENCH_GROUP = "benchmarks"
FEATURES = ("angle", "length", "margin")
#: The approaches in table order.
APPROACH_ORDER: tuple[str, ...] = names.APPROACHES
META_KEYS = ("entity", "approach", "sparsity", "measured_sparsity", "arch", "seed", "train_seconds")
#: `summarise_pruning`'s outputs (keys of ``outputs``); ``*_fig`` are PNG paths (PDF beside).
OUTPUTS = (
    "models",
    "benchmarks",
    "samples",
    "correlations",
    "fragile",
    "fragile_fig",
    "lottery_fig",
    "similarity",
    "similarity_fig",
    "embedding",
    "embedding_fig",
    "distributions_fig",
)
FRAGILE_SHOWN = 16
FLOAT = "%.17g"


@dataclass(frozen=True)
class Analysis:
    """One entity's analysis file: its description, labels and per-benchmark geometry."""

    path: Path
    entity: str
    approach: str
    sparsity: float
    measured_sparsity: float
    arch: str
    seed: int
    train_seconds: float
    benchmarks: tuple[str, ...]
    labels: np.ndarray
    #: ``clean`` and each benchmark -> angle, length, margin, predictions (N,) arrays.
    features: dict[str, dict[str, np.ndarray]] = field(repr=False)

    @property
    def is_dense(self) -> bool:
        return self.approach == DENSE

    def correct(self, benchmark: str = CLEAN) -> np.ndarray:
        """Per-sample correctness (bool) on ``clean`` or a benchmark."""
        return self.features[benchmark]["predictions"] == self.labels

    def accuracy(self, benchmark: str = CLEAN) -> float:
        return float(np.mean(self.correct(benchmark)))

    def corruption_robustness(self, benchmarks: Sequence[str]) -> np.ndarray:
        """Per sample: the fraction of ``benchmarks`` under which it is classified correctly."""
        return np.mean([self.correct(b) for b in benchmarks], axis=0)


def _field(obj: Any, key: str) -> Any:
    """``obj.key`` (a `GeometricFeatures`) or ``obj[key]`` (a mapping, a DataFrame)."""
    if hasattr(obj, key):
        return getattr(obj, key)
    try:
        return obj[key]
    except (KeyError, TypeError, IndexError):
        raise InputError(f"features lack {key!r}") from None


def _check_meta(meta: Mapping[str, Any], where: str) -> dict[str, Any]:
    missing = [k for k in META_KEYS if k not in meta]
    if missing:
        raise InputError(f"{where}: analysis metadata lacks {', '.join(missing)}")
    approach = str(meta["approach"])
    if approach != DENSE and approach not in APPROACH_ORDER:
        raise InputError(
            f"{where}: unknown approach {approach!r}; choose {DENSE} or {', '.join(APPROACH_ORDER)}"
        )
    try:
        sparsity = float(meta["sparsity"])
    except (TypeError, ValueError):
        raise InputError(f"{where}: sparsity {meta['sparsity']!r} is not a number") from None
    if not 0.0 <= sparsity < 1.0:
        raise InputError(f"{where}: sparsity must lie in [0, 1), got {sparsity}")
    if approach == DENSE and sparsity != 0.0:
        raise InputError(f"{where}: the dense model has sparsity 0, got {sparsity}")
    return {
        "entity": str(meta["entity"]),
        "approach": approach,
        "sparsity": sparsity,
        "measured_sparsity": float(meta["measured_sparsity"]),
        "arch": str(meta["arch"]),
        "seed": int(meta["seed"]),
        "train_seconds": float(meta["train_seconds"]),
    }


def write_analysis(
    path: str | os.PathLike[str],
    meta: Mapping[str, Any],
    labels: Any,
    features: Mapping[str, Any],
) -> None:
    """Write one entity's analysis file, atomically and byte-reproducibly.

    ``meta`` holds `META_KEYS` (and optionally ``benchmarks``: it must then list the
    benchmarks of ``features`` in order). ``features`` maps ``clean`` and each benchmark to
    per-sample features with ``angle``, ``length``, ``margin`` and ``predictions`` (a
    `GeometricFeatures`, a mapping or a DataFrame), e.g. `evaluate_model`'s result.
    """
    where = str(path)
    info = _check_meta(meta, where)
    if CLEAN not in features:
        raise InputError(f"{where}: features lack the {CLEAN!r} samples")
    benchmarks = [str(b) for b in features if b != CLEAN]
    if "benchmarks" in meta and list(meta["benchmarks"]) != benchmarks:
        raise InputError(
            f"{where}: metadata lists benchmarks {list(meta['benchmarks'])}, features hold {benchmarks}"
        )
    bad = [b for b in benchmarks if "/" in b or not b]
    if bad:
        raise InputError(f"{where}: benchmark names must be non-empty without '/': {bad}")
    y = np.asarray(labels)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise InputError(f"{where}: labels must be a 1-D integer array, got {y.dtype} {y.shape}")
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        for key, value in info.items():
            h5.attrs[key] = value
        h5.attrs["benchmarks"] = json.dumps(benchmarks)
        h5.create_dataset("labels", data=y.astype(np.int64), track_times=False)
        for name in (CLEAN, *benchmarks):
            group = h5.create_group(name if name == CLEAN else f"{BENCH_GROUP}/{name}")
            for key in (*FEATURES, "predictions"):
                dtype = np.int64 if key == "predictions" else np.float64
                values = np.asarray(_field(features[name], key), dtype=dtype)
                if values.shape != y.shape:
                    raise InputError(
                        f"{where}: {name} {key} has shape {values.shape}, labels {y.shape}"
                    )
                group.create_dataset(key, data=values, track_times=False)


def read_analysis(path: str | os.PathLike[str]) -> Analysis:
    """One analysis file (`write_analysis`); a missing or malformed file is one line."""
    file = Path(path)
    if not file.is_file():
        raise InputError(f"analysis file not found: {file}")
    try:
        handle = h5py.File(file, "r")
    except OSError as exc:
        raise InputError(f"cannot read {file}: not a valid HDF5 file ({exc})") from None
    with handle as h5:
        info = _check_meta(dict(h5.attrs), str(file))
        try:
            benchmarks = json.loads(str(h5.attrs.get("benchmarks", "")))
        except json.JSONDecodeError:
            benchmarks = None
        if not isinstance(benchmarks, list):
            raise InputError(f"{file}: attribute 'benchmarks' is not a JSON list")
        if "labels" not in h5:
            raise InputError(f"{file}: no dataset 'labels'")
        y = np.asarray(h5["labels"][()])
        feats = {}
        for name in (CLEAN, *benchmarks):
            key = name if name == CLEAN else f"{BENCH_GROUP}/{name}"
            if key not in h5:
                raise InputError(f"{file}: benchmark {name!r} listed but group {key!r} is missing")
            group = h5[key]
            feats[name] = {}
            for part in (*FEATURES, "predictions"):
                if part not in group:
                    raise InputError(f"{file}: group {key!r} has no dataset {part!r}")
                values = np.asarray(group[part][()])
                if values.shape != y.shape:
                    raise InputError(
                        f"{file}: {key}/{part} has shape {values.shape}, labels {y.shape}"
                    )
                feats[name][part] = values
    return Analysis(
        path=file, benchmarks=tuple(str(b) for b in benchmarks), labels=y, features=feats, **info
    )


def _model_key(a: Analysis) -> tuple:
    rank = -1 if a.is_dense else APPROACH_ORDER.index(a.approach)
    return (rank, a.sparsity, a.seed, a.entity)


def load_study(analyses: Sequence[str | os.PathLike[str]]) -> list[Analysis]:
    """Read and check a study's analysis files; dense model first, then by approach order,
    sparsity, seed and entity name.

    Every file must hold the dense model's samples (same labels in the same order) and
    exactly its benchmarks; entity names are unique; there is one dense model, at least
    one pruned model and at least one benchmark. Each violation is one line naming a file.
    """
    if not analyses:
        raise InputError("no analysis files given")
    study = [read_analysis(p) for p in analyses]
    dense = [a for a in study if a.is_dense]
    if not dense:
        files = ", ".join(str(a.path) for a in study)
        raise InputError(f"no dense model (approach {DENSE!r}) among the analysis files: {files}")
    if len(dense) > 1:
        raise InputError(
            f"{dense[1].path}: a second dense model (the first is {dense[0].path}); a study has one"
        )
    ref = dense[0]
    if not ref.benchmarks:
        raise InputError(f"{ref.path}: the dense model has no corrupted benchmark")
    seen: dict[str, Path] = {}
    for a in study:
        if a.entity in seen:
            raise InputError(f"{a.path}: entity {a.entity!r} already comes from {seen[a.entity]}")
        seen[a.entity] = a.path
        if a.labels.shape != ref.labels.shape or not np.array_equal(a.labels, ref.labels):
            raise InputError(
                f"{a.path}: covers other samples than the dense model's {ref.path} "
                f"({a.labels.size} vs {ref.labels.size} labels, or another order)"
            )
        missing = [b for b in ref.benchmarks if b not in a.benchmarks]
        extra = [b for b in a.benchmarks if b not in ref.benchmarks]
        if missing:
            raise InputError(f"{a.path}: lacks benchmarks of the dense model: {', '.join(missing)}")
        if extra:
            raise InputError(f"{a.path}: has benchmarks the dense model lacks: {', '.join(extra)}")
    if len(study) == 1:
        raise InputError(f"no pruned model besides the dense one ({ref.path})")
    return sorted(study, key=_model_key)


def models_table(study: Sequence[Analysis]) -> pd.DataFrame:
    """One row per model: description, clean and mean corruption accuracy, relative robustness."""
    bench = study[0].benchmarks
    rows = []
    for a in study:
        clean = a.accuracy()
        corrupt = float(np.mean([a.accuracy(b) for b in bench]))
        rows.append(
            {
                "entity": a.entity,
                "approach": a.approach,
                "sparsity": a.sparsity,
                "arch": a.arch,
                "seed": a.seed,
                "measured_sparsity": a.measured_sparsity,
                "clean_accuracy": clean,
                "corruption_accuracy": corrupt,
                "train_seconds": a.train_seconds,
            }
        )
    table = pd.DataFrame(rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = table["corruption_accuracy"] / table["clean_accuracy"]
    dense_ratio = ratio.iloc[0]
    table["relative_robustness"] = ratio / dense_ratio if dense_ratio > 0 else np.nan
    return table


def benchmarks_table(study: Sequence[Analysis]) -> pd.DataFrame:
    """Long format: accuracy per (model, benchmark); ``clean`` comes first as a benchmark."""
    rows = [
        {
            "entity": a.entity,
            "approach": a.approach,
            "sparsity": a.sparsity,
            "benchmark": b,
            "accuracy": a.accuracy(b),
        }
        for a in study
        for b in (CLEAN, *study[0].benchmarks)
    ]
    return pd.DataFrame(rows)


def samples_table(study: Sequence[Analysis]) -> pd.DataFrame:
    """Per (model, sample): label, clean geometry, 0/1 correctness clean and per benchmark,
    and the corruption robustness (fraction of benchmarks correct)."""
    bench = study[0].benchmarks
    frames = []
    for a in study:
        n = a.labels.size
        frame = pd.DataFrame(
            {
                "entity": a.entity,
                "approach": a.approach,
                "sparsity": a.sparsity,
                "sample": np.arange(n),
                "label": a.labels,
                **{f: a.features[CLEAN][f] for f in FEATURES},
                "correct_clean": a.correct().astype(np.int64),
                **{f"correct_{b}": a.correct(b).astype(np.int64) for b in bench},
                "corruption_robustness": a.corruption_robustness(bench),
            }
        )
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def correlations_table(study: Sequence[Analysis]) -> pd.DataFrame:
    """The geometry study's `correlation_table` for every model (dense included).

    For each model, its clean per-sample angle, length and margin are correlated (Pearson
    with p-value, Spearman) with its own per-sample corruption robustness: the fraction of
    the study's benchmarks under which that model classifies the sample correctly
    (robustness measure ``corruption``). ``model`` is the entity name; ``approach`` and
    ``sparsity`` follow it.
    """
    bench = study[0].benchmarks
    tables = []
    for a in study:
        table = correlation_table(
            a.entity, a.features[CLEAN], {"corruption": a.corruption_robustness(bench)}
        )
        table.insert(1, "approach", a.approach)
        table.insert(2, "sparsity", a.sparsity)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def fragile_table(study: Sequence[Analysis]) -> pd.DataFrame:
    """Per sample: how often a correct dense prediction flips under pruning and corruption.

    ``pruning_flips``: pruned models whose clean prediction is wrong on a sample the dense
    model gets right; ``corruption_flips``: benchmarks under which the dense model is wrong
    on a sample it gets right clean; ``flips`` their sum. Both are 0 where the dense model
    is wrong clean. Sorted by ``flips`` (descending), then sample index.
    """
    dense, pruned = study[0], study[1:]
    ok = dense.correct()
    pruning = np.sum([ok & ~p.correct() for p in pruned], axis=0, dtype=np.int64)
    corruption = np.sum([ok & ~dense.correct(b) for b in dense.benchmarks], axis=0, dtype=np.int64)
    table = pd.DataFrame(
        {
            "sample": np.arange(dense.labels.size),
            "label": dense.labels,
            "dense_correct": ok.astype(np.int64),
            "pruning_flips": pruning,
            "corruption_flips": corruption,
            "flips": pruning + corruption,
        }
    )
    order = np.lexsort((table["sample"].to_numpy(), -table["flips"].to_numpy()))
    return table.iloc[order].reset_index(drop=True)


def lottery_winner(models: pd.DataFrame) -> tuple[str, str]:
    """The pruned model with the highest relative robustness and a sentence saying why.

    Ties go to the first in table order; without a finite relative robustness (the dense
    model or every pruned model has accuracy 0) the first pruned model is chosen.
    """
    pruned = models.iloc[1:]
    scores = pruned["relative_robustness"].to_numpy(dtype=np.float64)
    if not np.isfinite(scores).any():
        return str(pruned["entity"].iloc[0]), "first pruned model (no finite relative robustness)"
    best = int(np.nanargmax(np.where(np.isfinite(scores), scores, np.nan)))
    row = pruned.iloc[best]
    verdict = "winner" if row["relative_robustness"] > 1 else "least loser"
    return (
        str(row["entity"]),
        f"biggest robustness-lottery {verdict}: corruption/clean accuracy "
        f"{row['relative_robustness']:.3f}× the dense model's",
    )


def similarity_table(study: Sequence[Analysis]) -> pd.DataFrame:
    """Distances between the models' clean geometric embeddings, hierarchically ordered
    (average linkage with optimal leaf ordering, `similarity_order`)."""
    from kstarlab.geometry.embedding import embedding_vectors, entity_distances, similarity_order

    names_, vectors = embedding_vectors({a.entity: a.features[CLEAN] for a in study})
    dist = entity_distances(vectors)
    order = similarity_order(dist)
    ordered = [names_[i] for i in order]
    return pd.DataFrame(dist[np.ix_(order, order)], index=ordered, columns=ordered).rename_axis(
        "entity"
    )


def embedding_entities(study: Sequence[Analysis]) -> tuple[dict[str, Any], pd.DataFrame]:
    """The entities of the embedding map and their description (kind, approach, sparsity).

    The models on clean samples (named by entity) and the dense model under each corrupted
    benchmark (named ``dense:<benchmark>``, kind ``benchmark``).
    """
    dense = study[0]
    entities: dict[str, Any] = {}
    rows = []
    for a in study:
        entities[a.entity] = a.features[CLEAN]
        kind = DENSE if a.is_dense else "pruned"
        rows.append((a.entity, kind, a.approach, a.sparsity, CLEAN))
    for b in dense.benchmarks:
        name = f"{dense.entity}:{b}"
        entities[name] = dense.features[b]
        rows.append((name, "benchmark", DENSE, 0.0, b))
    info = pd.DataFrame(rows, columns=["entity", "kind", "approach", "sparsity", "benchmark"])
    return entities, info.set_index("entity")


def _check_outputs(outputs: Mapping[str, Any]) -> None:
    missing = [k for k in OUTPUTS if k not in outputs]
    if missing:
        raise InputError(f"summarise_pruning needs outputs {', '.join(missing)}")


def summarise_pruning(
    analyses: Sequence[str | os.PathLike[str]],
    outputs: Mapping[str, str | os.PathLike[str]],
    *,
    images: Any = None,
    class_names: Sequence[str] | None = None,
    compare: str | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Tables and figures of one pruning study from its analysis files (see `load_study`).

    Writes every key of `OUTPUTS` (CSVs with 17 significant digits; figures as PNG and PDF):

    - ``models``: entity, approach, sparsity, arch, seed, measured_sparsity, clean_accuracy,
      corruption_accuracy (mean over benchmarks), train_seconds, relative_robustness;
    - ``benchmarks``: entity, approach, sparsity, benchmark, accuracy (``clean`` included
      as the first benchmark of each model);
    - ``samples``: per (model, sample) label, clean angle (degrees), length, margin,
      correct_clean, correct_<benchmark> (0/1) and corruption_robustness;
    - ``correlations``: `correlations_table`;
    - ``fragile`` and ``fragile_fig``: `fragile_table`, and the images of the (up to 16)
      most fragile samples with any flip (``images`` (N, C, H, W) in [0, 1], C = 1 or 3;
      without images the figure says so);
    - ``lottery_fig``: corruption against clean accuracy, the dense model's ratio drawn;
    - ``similarity`` and ``similarity_fig``: `similarity_table` and its heatmap;
    - ``embedding`` and ``embedding_fig``: 2-D map (UMAP, classical MDS below 5 entities)
      of `embedding_entities`, with its minimum spanning tree (CSV: coordinates and the
      tree's neighbours of each entity);
    - ``distributions_fig``: per-class angle, length and margin of ``compare`` (an entity;
      default the `lottery_winner`) against the dense model.

    Returns the tables and the compared entity with the reason for it.
    """
    from kstarlab.figures import save_figure
    from kstarlab.geometry import plots as geometry_plots
    from kstarlab.geometry.embedding import UMAP_MIN_ENTITIES, embed_entities
    from kstarlab.pruning import plots

    _check_outputs(outputs)
    study = load_study(analyses)
    dense = study[0]
    n = dense.labels.size
    if images is not None:
        images = np.asarray(images, dtype=np.float64)
        if images.ndim != 4 or images.shape[0] != n or images.shape[1] not in (1, 3):
            raise InputError(
                f"images must be (N={n}, C=1 or 3, H, W) like the analysis files' samples, "
                f"got {images.shape}"
            )
    n_classes = int(dense.labels.max()) + 1
    if class_names is None:
        class_names = [str(k) for k in range(n_classes)]
    elif len(class_names) < n_classes:
        raise InputError(f"{len(class_names)} class names given, labels reach {n_classes - 1}")
    entities = [a.entity for a in study]
    if compare is not None and (compare not in entities or compare == dense.entity):
        choices = ", ".join(entities[1:])
        raise InputError(f"compare {compare!r} is no pruned model of the study; choose {choices}")

    models = models_table(study)
    bench = benchmarks_table(study)
    samples = samples_table(study)
    correlations = correlations_table(study)
    fragile = fragile_table(study)
    similarity = similarity_table(study)
    for key, frame in [
        ("models", models),
        ("benchmarks", bench),
        ("samples", samples),
        ("correlations", correlations),
        ("fragile", fragile),
    ]:
        write_csv(frame, outputs[key], index=False, float_format=FLOAT)
    write_csv(similarity, outputs["similarity"], float_format=FLOAT)

    save_figure(plots.lottery_plot(models, APPROACH_ORDER), outputs["lottery_fig"])
    save_figure(
        geometry_plots.similarity_heatmap(
            similarity.rename_axis(None),
            range(len(similarity)),
            f"distance of the models' geometric embeddings\n"
            f"({len(study) - 1} pruned models and the dense one, hierarchically ordered)",
        ),
        outputs["similarity_fig"],
    )

    ents, info = embedding_entities(study)
    embedding = embed_entities(ents, seed=seed)
    coords = info.join(embedding["coords"])
    neighbours: dict[str, list[str]] = {name: [] for name in embedding["names"]}
    for i, j, _ in embedding["tree"]:
        a, b = embedding["names"][i], embedding["names"][j]
        neighbours[a].append(b)
        neighbours[b].append(a)
    coords["tree_neighbours"] = [" ".join(sorted(neighbours[name])) for name in coords.index]
    write_csv(coords, outputs["embedding"], float_format=FLOAT)
    method = "UMAP" if len(ents) >= UMAP_MIN_ENTITIES else "classical MDS"
    save_figure(
        plots.embedding_plot(coords, embedding["tree"], embedding["names"], method, APPROACH_ORDER),
        outputs["embedding_fig"],
    )

    if compare is None:
        compare, reason = lottery_winner(models)
    else:
        relative = models.loc[models["entity"] == compare, "relative_robustness"].item()
        reason = (
            f"chosen by the caller: corruption/clean accuracy {relative:.3f}× the dense model's"
        )
    chosen = next(a for a in study if a.entity == compare)
    save_figure(
        plots.class_distributions(
            dense.labels,
            {
                dense.entity: (dense.approach, dense.features[CLEAN]),
                chosen.entity: (chosen.approach, chosen.features[CLEAN]),
            },
            class_names,
            reason,
            APPROACH_ORDER,
        ),
        outputs["distributions_fig"],
    )
    save_figure(
        plots.fragile_samples(fragile, images, class_names, FRAGILE_SHOWN, len(study) - 1),
        outputs["fragile_fig"],
    )
    return {
        "models": models,
        "benchmarks": bench,
        "samples": samples,
        "correlations": correlations,
        "fragile": fragile,
        "similarity": similarity,
        "embedding": coords,
        "compare": compare,
        "compare_reason": reason,
    }
