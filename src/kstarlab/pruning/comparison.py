"""The comparison of pruning approaches: what the robustness-lottery paper shows.

Every entity of a pruning study (the dense model and each pruned model) is analysed once,
by the per-model job, into an analysis file (`kstarlab.pruning.analysis_files`).

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

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kstarlab.errors import InputError
from kstarlab.geometry.correlations import correlation_table
from kstarlab.io import write_csv
from kstarlab.pruning.analysis_files import (
    APPROACH_ORDER,
    CLEAN,
    DENSE,
    FEATURES,
    Analysis,
    read_analysis,
)

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
#: A pruned model "keeps its clean accuracy" at this share of the dense model's or more
#: (`lottery_winner`: the robust model shown against the dense one).
KEEPS_CLEAN = 0.9
FLOAT = "%.17g"


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
    """The robust pruned model to show against the dense one, and a sentence saying why.

    Among the pruned models that keep their clean accuracy (at least `KEEPS_CLEAN` of the
    dense model's), the one with the highest relative robustness: a model that collapsed
    to chance has a high corruption/clean ratio without being robust, so it is not chosen
    unless no model keeps its accuracy. Ties go to the first in table order; without a
    finite relative robustness the first pruned model is chosen.
    """
    pruned = models.iloc[1:]
    scores = pruned["relative_robustness"].to_numpy(dtype=np.float64)
    if not np.isfinite(scores).any():
        return str(pruned["entity"].iloc[0]), "first pruned model (no finite relative robustness)"
    dense_clean = float(models["clean_accuracy"].iloc[0])
    keeps = pruned["clean_accuracy"].to_numpy(dtype=np.float64) >= KEEPS_CLEAN * dense_clean
    usable = np.isfinite(scores) & (keeps if keeps.any() else True)
    best = int(np.nanargmax(np.where(usable, scores, np.nan)))
    row = pruned.iloc[best]
    verdict = "winner" if row["relative_robustness"] > 1 else "least loser"
    among = (
        f"of the models keeping {KEEPS_CLEAN:.0%} of the dense clean accuracy"
        if keeps.any()
        else "(no model keeps its clean accuracy)"
    )
    return (
        str(row["entity"]),
        f"biggest robustness-lottery {verdict} {among}: corruption/clean accuracy "
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
