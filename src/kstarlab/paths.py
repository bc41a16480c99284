"""Every output path of the workflow, built here once for the rules, the jobs and the docs.

Paths are relative to the project folder (the workflow's working directory), under
`RESULTS`. Each function joins its parts as given, so called with Snakemake wildcards it
gives a rule's output pattern: ``kstar_cell("{model}", "{layer}", "{transform}",
"{metric}")`` is ``results/kstar/{model}/{layer}/{transform}/{metric}.csv``. The DVC stages
of ``dvc.yaml`` version the folders below (tests/workflow/test_paths.py checks they agree).
Torch-free and free of kstarlab imports: every Snakemake start loads it for nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The folder of everything the workflow makes.
RESULTS = "results"
#: Each job's log and benchmark, under the rule's name (not versioned by DVC).
LOGS = f"{RESULTS}/logs"
BENCHMARKS = f"{RESULTS}/benchmarks"
#: Snakemake's HTML report of a finished run (``make run``).
REPORT = f"{RESULTS}/report.html"

# --------------------------------------------------------------------------- data, models

DATA = f"{RESULTS}/data"
#: The description of the evaluated dataset (rule dataset_card).
DATASET_CARD = f"{DATA}/dataset.json"


def digits_file(split_seed: int | str) -> str:
    """The digits with the split of ``split_seed`` (`kstarlab.latents.digits`), written once by the
    data rule and read by every job over the digits."""
    return f"{DATA}/digits-seed{split_seed}.npz"


MODELS = f"{RESULTS}/models"


def trained_checkpoint(model: str) -> str:
    """The checkpoint of a zoo model the workflow trains: the rules, the jobs and the
    command line all read it from here."""
    return f"{MODELS}/{model}.pt"


def checkpoint_record(checkpoint: str | os.PathLike[str]) -> str:
    """The JSON record written beside a trained checkpoint (its training metadata)."""
    return str(Path(checkpoint).with_suffix(".json"))


def training_record(model: str) -> str:
    """The training record of a zoo model: `checkpoint_record` of its checkpoint."""
    return checkpoint_record(trained_checkpoint(model))


def weights_card(model: str) -> str:
    """The card of a pretrained model's weights file (rule weights_card). It also matches
    `training_record`'s pattern (``{model}.json`` with ``model=<name>.weights``): the
    workflow's ``ruleorder`` says which rule makes it."""
    return f"{MODELS}/{model}.weights.json"


# --------------------------------------------------------------------------- latents, k*

LATENTS = f"{RESULTS}/latents"


def latents(model: str, transform: str) -> str:
    """The HDF5 file of every planned layer of ``model`` under ``transform`` (rule extract)."""
    return f"{LATENTS}/{model}/{transform}.h5"


KSTAR = f"{RESULTS}/kstar"
#: The two tables of a k* cell: per sample, and per class (with γ, pattern, bootstrap).
KSTAR_TABLES = {"samples": ".csv", "classes": ".classes.csv"}
#: The tidy summary: one row per (model, layer, transform, metric, class).
KSTAR_SUMMARY = f"{KSTAR}/summary.csv"


def kstar_cell(model: str, layer: str, transform: str, metric: str, kind: str = "samples") -> str:
    """A k* cell's table of ``kind`` (`KSTAR_TABLES`), one (model, layer, transform, metric)."""
    return f"{KSTAR}/{model}/{layer}/{transform}/{metric}{KSTAR_TABLES[kind]}"


# --------------------------------------------------------------------------- studies

TABLES = f"{RESULTS}/tables"
FIGURES = f"{RESULTS}/figures"
#: A study's tables: rule study_tables writes all but the HTML page (rule study_table_html).
STUDY_TABLES = {
    "per_class": ".csv",
    "patterns": ".patterns.csv",
    "markdown": ".md",
    "latex": ".tex",
    "html": ".html",
}
#: A study's figures: the distributions always, the trend and projections when asked for.
STUDY_FIGURES = ("distributions", "trend", "projections")


def study_table(study: str, kind: str) -> str:
    """A study's table of ``kind`` (`STUDY_TABLES`)."""
    return f"{TABLES}/{study}{STUDY_TABLES[kind]}"


def study_figure(study: str, name: str) -> str:
    """A study's figure ``name`` (`STUDY_FIGURES`), a PNG."""
    if name not in STUDY_FIGURES:
        raise KeyError(name)
    return f"{FIGURES}/{study}/{name}.png"


def study_projection_coordinates(study: str) -> str:
    """The points of a study's projections figure, a CSV beside its PNG (rule
    study_projections): one row per (cell, kept sample), the 2-D coordinates of each method."""
    return f"{FIGURES}/{study}/projections.csv"


# --------------------------------------------------------------------------- geometry

GEOMETRY = f"{RESULTS}/geometry"
#: Per model (rule geometry_model): features, per-sample robustness, pruning accuracy.
GEOMETRY_MODEL_FILES = {
    "features": "features.h5",
    "samples": "samples.csv",
    "pruning": "pruning.csv",
}
#: Across models (rule geometry_summary): the tables, by their output key.
GEOMETRY_TABLES = {
    "correlations": "correlations.csv",
    "poster": "poster_tables.md",
    "embedding": "embedding.csv",
}
#: Across models: the figures, output key -> file name under ``figures/`` without suffix.
#: `kstarlab.geometry.analysis.summarise_models` writes each as PNG and PDF.
GEOMETRY_FIGURES = {
    "embedding": "embedding",
    "heatmap": "corruption_similarity",
    "scatter": "angle_length",
    "margins": "margins",
    "sparsity": "accuracy_sparsity",
}
GEOMETRY_FIGURE_SUFFIXES = (".png", ".pdf")


def geometry_model(model: str, kind: str, folder: str = GEOMETRY) -> str:
    """A per-model geometry file of ``kind`` (`GEOMETRY_MODEL_FILES`)."""
    return f"{folder}/{model}/{GEOMETRY_MODEL_FILES[kind]}"


def geometry_table(key: str, folder: str = GEOMETRY) -> str:
    """The geometry table of output key ``key`` (`GEOMETRY_TABLES`)."""
    return f"{folder}/{GEOMETRY_TABLES[key]}"


def geometry_figure(key: str, suffix: str = ".png", folder: str = GEOMETRY) -> str:
    """The geometry figure of output key ``key`` (`GEOMETRY_FIGURES`), as ``suffix``."""
    if suffix not in GEOMETRY_FIGURE_SUFFIXES:
        raise KeyError(suffix)
    return f"{folder}/figures/{GEOMETRY_FIGURES[key]}{suffix}"


def geometry_summary(folder: str = GEOMETRY) -> dict[str, str]:
    """Every output of the summary across models, by the keys `summarise_models` reads:
    the tables, each figure as ``<key>_fig`` (PNG) and ``<key>_pdf`` (the PDF beside it).
    ``folder`` puts the same layout elsewhere (benchmarks/geometry_digits.py)."""
    out = {key: geometry_table(key, folder) for key in GEOMETRY_TABLES}
    out.update({f"{key}_fig": geometry_figure(key, ".png", folder) for key in GEOMETRY_FIGURES})
    out.update({f"{key}_pdf": geometry_figure(key, ".pdf", folder) for key in GEOMETRY_FIGURES})
    return out


# --------------------------------------------------------------------------- pruning

PRUNING = f"{RESULTS}/pruning"
#: The dense model's entity name in a pruning study (the pruned ones: `pruned_entity`).
DENSE = "dense"
#: Across a study's models (rule pruning_summary): the tables, by output key.
PRUNING_TABLES = {
    "models": "models.csv",
    "benchmarks": "benchmarks.csv",
    "samples": "samples.csv",
    "correlations": "correlations.csv",
    "fragile": "fragile.csv",
    "similarity": "similarity.csv",
    "embedding": "embedding.csv",
}
#: Across a study's models: the figures, output key -> file name under ``figures/``.
PRUNING_FIGURES = {
    "lottery": "robustness_lottery",
    "similarity": "approach_similarity",
    "embedding": "embedding",
    "distributions": "distributions",
    "fragile": "fragile_samples",
}


def pruned_entity(approach: str, sparsity: float | str) -> str:
    """The name of a pruned model of a study: ``<approach>-<sparsity>`` (``finetune-0.9``)."""
    return f"{approach}-{sparsity}" if isinstance(sparsity, str) else f"{approach}-{sparsity:g}"


def pruning_benchmarks(study: str) -> str:
    """A study's evaluated images, clean and under every corrupted benchmark, made once
    (rule pruning_benchmarks) and read by each model's analysis."""
    return f"{PRUNING}/{study}/benchmarks.h5"


def pruned_checkpoint(study: str, entity: str) -> str:
    """A pruned model the workflow trains (rule prune_model), a plain state dict with zeros;
    its record (`checkpoint_record`) holds the approach, sparsity and timings."""
    return f"{PRUNING}/{study}/models/{entity}.pt"


def pruning_analysis(study: str, entity: str) -> str:
    """The geometry and predictions of one model of a study, clean and under every
    corrupted benchmark (rule pruning_analysis)."""
    return f"{PRUNING}/{study}/analysis/{entity}.h5"


def pruning_summary(study: str) -> dict[str, str]:
    """Every output of a study's summary (rule pruning_summary) by the keys
    `kstarlab.pruning.comparison.summarise_pruning` reads: the tables, each figure as
    ``<key>_fig`` (PNG) and ``<key>_pdf`` (the PDF beside it)."""
    folder = f"{PRUNING}/{study}"
    out = {key: f"{folder}/{name}" for key, name in PRUNING_TABLES.items()}
    for key, name in PRUNING_FIGURES.items():
        out[f"{key}_fig"] = f"{folder}/figures/{name}.png"
        out[f"{key}_pdf"] = f"{folder}/figures/{name}.pdf"
    return out


# --------------------------------------------------------------------------- Table XXI

EMBEDDINGS = f"{RESULTS}/embeddings"
#: Table XXI of the configured embeddings (rule embedding_tables), by output key.
EMBEDDING_TABLES = {
    "csv": "table.csv",
    "summary": "summary.csv",
    "markdown": "table.md",
    "latex": "table.tex",
    "html": "table.html",
}
#: The k* distributions of every configured embedding, one row each.
EMBEDDING_DISTRIBUTIONS = f"{EMBEDDINGS}/distributions.png"


def embedding_demo(demo: str) -> str:
    """A demonstration embedding file the workflow makes (a scikit-learn table)."""
    return f"{EMBEDDINGS}/demo/{demo}.npz"


def embedding_kstar(source: str, kind: str = "samples") -> str:
    """The k* table of ``kind`` (`KSTAR_TABLES`) of one configured embedding."""
    return f"{EMBEDDINGS}/kstar/{source}{KSTAR_TABLES[kind]}"


def embedding_table(kind: str) -> str:
    """Table XXI's file of ``kind`` (`EMBEDDING_TABLES`)."""
    return f"{EMBEDDINGS}/{EMBEDDING_TABLES[kind]}"


# --------------------------------------------------------------------------- elsewhere


def rebase(path: str, results: str | os.PathLike[str]) -> Path:
    """``path`` (one of the above) in another results folder: a copied or pulled run."""
    return Path(results) / Path(path).relative_to(RESULTS)


# --------------------------------------------------------------------------- explorer

#: The interactive explorer page of a run (rule explorer; ``kstarlab explore``).
EXPLORER = f"{RESULTS}/explorer.html"
