# Config validation and the helpers that turn the studies into job inputs. Everything a
# job depends on reaches it through `params:` built here, so a config change reruns
# exactly the jobs it touches (Snakemake's params trigger).
import sys
from types import SimpleNamespace

from kstarlab import paths
from kstarlab.workflow.codesets import script_code
from kstarlab.errors import InputError
from kstarlab.names import is_no_weights, looks_like_path
from kstarlab.workflow.plan import (
    canonical,
    check_config,
    COSTS,
    corruption_transforms,
    dataset_of,
    dataset_samples,
    embedding_samples,
    job_resources,
    metric_args,
)

try:
    PLAN = check_config(config, workflow.source_path("../schemas/config.schema.yaml"))
except InputError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(2)


wildcard_constraints:
    model=r"[A-Za-z0-9_+.\-]+",
    transform=r"[A-Za-z0-9_.\-]+",
    layer=r"[A-Za-z0-9_.]+",
    metric=r"[a-z]+(-[0-9.]+)?",
    study=r"[A-Za-z0-9_\-]+",


def code_of(script):
    """The hash of the code a rule's script runs: the script and the closure of the
    kstarlab modules it imports (kstarlab.workflow.codesets). As the rule's `code` param, a real
    change to any of them (not to comments or docstrings) reruns the rule's jobs, and a
    change elsewhere does not. `script` is the rule's own script path, as in `script:`.
    """
    return script_code(workflow.source_path(script)).hash


# Every output path comes from kstarlab.paths, which the jobs and the docs use too.
LOGS = paths.LOGS
BENCH = paths.BENCHMARKS
CUDA = config["device"].startswith("cuda")


def model_entry(name):
    return config["models"][name]


def is_trained_here(name):
    return "regime" in model_entry(name)


def is_pretrained(name):
    """A model whose weights are a file path or a torchvision enum (it gets a weights card)."""
    weights = model_entry(name).get("weights")
    return (
        not is_trained_here(name)
        and isinstance(weights, str)
        and not is_no_weights(weights)
    )


def weights_input(wildcards):
    """The weights path itself: a replaced file reruns its card and all downstream.
    Nothing for a torchvision enum: only the job resolves its hub file (with torch)."""
    weights = model_entry(wildcards.model)["weights"]
    return weights if looks_like_path(weights) else []


def digits_input(wildcards):
    """The digits file a job reads, as its input named `digits` (written by digits_data),
    for the dataset its model is evaluated on, else `dataset`; none for other datasets.
    """
    model = getattr(wildcards, "model", None)
    dataset = config["dataset"] if model is None else dataset_of(config, model)
    if dataset["name"] != "digits":
        return {}
    return {"digits": paths.digits_file(dataset["split_seed"])}


def train_digits(wildcards):
    """The digits file a zoo model trains on (the split of `dataset.split_seed`)."""
    return paths.digits_file(config["dataset"]["split_seed"])


def digits_files():
    """Every digits file the configured jobs read (the DVC data stage versions them)."""
    datasets = [config["dataset"], *config["datasets"].values()]
    seeds = {d["split_seed"] for d in datasets if d["name"] == "digits"}
    if any(is_trained_here(name) for name in config["models"]):
        seeds.add(config["dataset"]["split_seed"])
    return [paths.digits_file(seed) for seed in sorted(seeds)]


def train_params(wildcards):
    entry = model_entry(wildcards.model)
    keys = ("arch", "regime", "epochs", "lr", "eps", "pgd_steps", "style")
    return canonical(
        {
            **{k: entry[k] for k in keys if k in entry},
            "seed": config["seed"],
            "split_seed": config["dataset"]["split_seed"],
            "batch_size": config["training"]["batch_size"],
        }
    )


def model_input(wildcards):
    """The trained checkpoint of a zoo model, the weights card of a pretrained one (jobs
    read the weights through `model_params`); nothing for a random initialisation."""
    if is_trained_here(wildcards.model):
        return paths.trained_checkpoint(wildcards.model)
    if is_pretrained(wildcards.model):
        return paths.weights_card(wildcards.model)
    return []


def model_params(wildcards):
    """How to load the model (its dataset reaches the jobs through their settings)."""
    entry = {k: v for k, v in model_entry(wildcards.model).items() if k != "dataset"}
    if is_trained_here(wildcards.model):
        entry = {
            "arch": entry["arch"],
            "weights": paths.trained_checkpoint(wildcards.model),
        }
    return canonical(entry)


def extract_params(wildcards):
    """Layers, dataset and transform settings of one (model, transform) extraction."""
    key = (wildcards.model, wildcards.transform)
    if key not in PLAN.extractions:
        raise ValueError(
            f"no study asks for {wildcards.model} under {wildcards.transform}"
        )
    out = {
        "layers": list(PLAN.extractions[key]),
        "dataset": dataset_of(config, wildcards.model),
        "extraction": config["extraction"],
        "seed": config["seed"],
    }
    if wildcards.transform.startswith("pgd-"):
        out["pgd"] = config["pgd"]
    if wildcards.transform.startswith("style-adain"):
        out["style"] = config["style"]
    return canonical(out)


def kstar_params(wildcards):
    """Metric, engine and bootstrap settings of one k* job (the seed draws the resamples)."""
    return canonical(
        {**metric_args(wildcards.metric), **config["kstar"], "seed": config["seed"]}
    )


def study_cells(wildcards, kind="classes"):
    """The k* tables of ``kind`` of every cell of the study, in the order of its grid."""
    grid = PLAN.studies[wildcards.study].grid()
    return [paths.kstar_cell(*cell, kind=kind) for cell in grid]


def study_latents(wildcards):
    """The latents file of every cell of the study, in the order of its grid."""
    study = PLAN.studies[wildcards.study]
    return [paths.latents(m, t) for m, _, t, _ in study.grid()]


def study_params(wildcards):
    study = PLAN.studies[wildcards.study]
    entry = config["studies"][wildcards.study]
    return canonical(
        {
            "cells": [list(cell) for cell in study.grid()],
            "classes": list(study.classes),
            "rows": list(study.rows),
            "caption": entry.get("caption", ""),
            "tables": entry.get("tables", ""),
        }
    )


def study_figures(name):
    study = PLAN.studies[name]
    out = [paths.study_figure(name, "distributions")]
    if study.trend:
        out.append(paths.study_figure(name, "trend"))
    if config["studies"][name].get("projections", False):
        out.append(paths.study_figure(name, "projections"))
    return out


def geometry_inputs(wildcards):
    """The clean latents, and the corrupted ones when they are extract jobs of their own
    (`geometry.corruption_jobs`); otherwise the geometry job extracts them itself."""
    geo = config["geometry"]
    inputs = {
        "clean": paths.latents(wildcards.model, "clean"),
        "model": model_input(wildcards),
        **digits_input(wildcards),
    }
    if geo["corruption_jobs"]:
        inputs["corrupted"] = [
            paths.latents(wildcards.model, t) for t in corruption_transforms(geo)
        ]
    return inputs


def geometry_params(wildcards):
    geo = config["geometry"]
    return canonical(
        {
            "layer": geo["layer"],
            "corruptions": corruption_transforms(geo),
            "sparsities": geo["sparsities"],
            "model": model_params(wildcards),
            "dataset": dataset_of(config, wildcards.model),
            "batch_size": config["extraction"]["batch_size"],
            "seed": config["seed"],
        }
    )


def geometry_models(kind):
    """The per-model geometry files of ``kind`` of every geometry model."""
    return [paths.geometry_model(m, kind) for m in PLAN.geometry_models]


def geometry_summary_outputs():
    """The outputs of geometry_summary (geometry.smk) by the keys its job reads. The
    tables and the PNG figures go into the report, each with its caption
    (workflow/report/geometry_<key>.rst); the PDFs beside the PNGs do not."""
    out = {}
    for key, path in paths.geometry_summary().items():
        figure = key.endswith("_fig")
        if key in ("correlations", "poster") or figure:
            path = report(
                path,
                caption=f"../report/geometry_{key.removesuffix('_fig')}.rst",
                category="geometry",
                subcategory="figures" if figure else "tables",
            )
        out[key] = path
    return out


def geometry_outputs():
    """Every table and figure across the geometry models (none without them)."""
    return list(paths.geometry_summary().values()) if PLAN.geometry_models else []


def embedding_outputs():
    """Table XXI and the k* distributions of the configured embeddings (embeddings.smk)."""
    if not PLAN.embeddings:
        return []
    tables = [paths.embedding_table(kind) for kind in ("markdown", "html")]
    return tables + [paths.EMBEDDING_DISTRIBUTIONS]


# Table XXI (embeddings.smk): the configured embeddings, each a file or a demonstration.
EMBEDDINGS = {source.name: source for source in PLAN.embeddings}


def embedding_file(wildcards):
    """The embedding file of a source: the user's file, or the demo the workflow makes."""
    source = EMBEDDINGS[wildcards.source]
    return source.file or paths.embedding_demo(source.demo)


def embedding_settings():
    section = config["embeddings"]
    return canonical(
        {
            "sources": [source.params() for source in PLAN.embeddings],
            "tables": section["tables"],
            "caption": section["caption"],
        }
    )


def embedding_results(kind):
    return [paths.embedding_kstar(name, kind) for name in EMBEDDINGS]


def all_outputs():
    out = [paths.KSTAR_SUMMARY]
    for name in PLAN.studies:
        out += [paths.study_table(name, kind) for kind in ("markdown", "html")]
        out += study_figures(name)
    out += geometry_outputs() + embedding_outputs() + pruning_outputs()
    return out + explorer_outputs()


# The explorer (explorer.smk): one page over the k* studies and the pruning studies.
def explorer_outputs():
    return [paths.EXPLORER] if config["explorer"]["enabled"] else []


def planned_cells():
    """Every k* cell of the studies, once, in study order."""
    cells = {}
    for study in PLAN.studies.values():
        cells.update(dict.fromkeys(study.grid()))
    return list(cells)


def explorer_inputs(wildcards):
    """What the page reads: each k* cell's tables and latents file (its dataset), the
    studies' projection coordinates, the geometry section's map and per-model files, and
    each pruning study's analyses, map and images.
    """
    cells = planned_cells()
    inputs = {
        "cells": [paths.kstar_cell(*cell) for cell in cells],
        "latents": sorted({paths.latents(m, t) for m, _, t, _ in cells}),
        "projections": [
            paths.study_projection_coordinates(name)
            for name in PLAN.studies
            if config["studies"][name].get("projections", False)
        ],
    }
    if cells:
        inputs["summary"] = paths.KSTAR_SUMMARY
    if PLAN.geometry_models:  # the geometry section: a map study of the zoo models
        inputs["geometry_map"] = paths.geometry_table("embedding")
        inputs["geometry_features"] = geometry_models("features")
        inputs["geometry_samples"] = geometry_models("samples")
    for name in PRUNING:
        inputs[f"pruning_{name}"] = [
            paths.pruning_analysis(name, e) for e in PRUNING[name].entities
        ]
        inputs[f"map_{name}"] = paths.pruning_summary(name)["embedding"]
        inputs[f"images_{name}"] = paths.pruning_benchmarks(name)
    return inputs


def explorer_params(wildcards):
    section = config["explorer"]
    return canonical(
        {
            "folder": paths.RESULTS,
            "studies": {
                name: {
                    "cells": [list(cell) for cell in study.grid()],
                    "caption": config["studies"][name].get("caption", ""),
                }
                for name, study in PLAN.studies.items()
            },
            "pruning": list(PRUNING),
            "geometry": list(PLAN.geometry_models),
            "max_points": section.get("max_points"),
            "seed": config["seed"],
        }
    )


# Default threads and resources of each kind of job, scaled from the dataset size by
# kstarlab.workflow.plan.job_resources (the model is documented there); a profile overrides them
# per rule with `set-resources` / `set-threads`.
def threads_of(kind):
    return COSTS[kind].threads


def resource(kind, name):
    """A resource callable (``mem_mb``, ``runtime`` or ``gpu``) for a rule of ``kind``."""

    def scaled(wildcards, attempt):
        split = "train" if kind == "train" else None
        model = getattr(wildcards, "model", None)
        if model is None and hasattr(wildcards, "prune_study"):
            model = PRUNING[wildcards.prune_study].dense
        dataset = config["dataset"] if model is None else dataset_of(config, model)
        samples = dataset_samples(dataset, split)
        if hasattr(wildcards, "source"):  # Table XXI: the samples of an embedding file
            samples = embedding_samples(embedding_file(wildcards))
        return job_resources(
            kind,
            samples,
            cuda=CUDA,
            attempt=attempt,
            transform=getattr(wildcards, "transform", None),
            pgd_steps=config.get("pgd", {}).get("steps", 10),
        )[name]

    return scaled


# Tiny jobs (an estimated runtime of at most TINY_MINUTES) are submitted to a cluster in
# groups: `group-components: [kstar=16]` in profiles/slurm puts up to 16 of them in one
# SLURM job. A group is only formed when the run sets group-components for it, so local
# runs (and each job's own Snakemake on a compute node) never group; k* on ImageNet-sized
# data is not tiny and is submitted alone.
TINY_MINUTES = 15


def tiny_group(name, kind):
    """The group of a tiny job of ``kind`` (a callable of the wildcards), else no group."""

    def group(wildcards):
        if name not in (workflow.group_settings.group_components or {}):
            return None
        return name if resource(kind, "runtime")(wildcards, 1) <= TINY_MINUTES else None

    return group


def study_samples(wildcards):
    return study_cells(wildcards, kind="samples")


# Pruning studies (pruning.smk): a dense model and its pruned models, compared on the
# geometry section's corrupted benchmarks (kstarlab.workflow.pruning_plan checks them).
PRUNING = PLAN.pruning
# The approaches that start from the trained dense model (the others train from scratch).
FROM_DENSE = ("oneshot", "finetune", "random")


def pruning_dense(wildcards):
    return PRUNING[wildcards.prune_study].dense


def pruning_digits(wildcards, split="test"):
    """The digits file the study's dense model is evaluated on (none for other data)."""
    dataset = dataset_of(config, pruning_dense(wildcards))
    if dataset["name"] != "digits":
        return {}
    return {"digits": paths.digits_file(dataset["split_seed"])}


def pruning_benchmarks_params(wildcards):
    return canonical(
        {
            "dataset": dataset_of(config, pruning_dense(wildcards)),
            "benchmarks": corruption_transforms(config["geometry"]),
            "batch_size": config["extraction"]["batch_size"],
            "seed": config["seed"],
        }
    )


def dense_params(wildcards):
    """How the jobs load the study's dense model (model_params of its name)."""
    dense = pruning_dense(wildcards)
    return {"dense": dense, "dense_model": model_params(SimpleNamespace(model=dense))}


def prune_inputs(wildcards):
    study = PRUNING[wildcards.prune_study]
    entry = study.entry(wildcards.entity)
    inputs = {"digits": train_digits(wildcards)}
    if entry.approach in FROM_DENSE:
        inputs["dense"] = paths.trained_checkpoint(study.dense)
    return inputs


def prune_params(wildcards):
    study = PRUNING[wildcards.prune_study]
    entry = study.entry(wildcards.entity)
    return canonical(
        {
            **dense_params(wildcards),
            "approach": entry.approach,
            "sparsity": entry.sparsity,
            "arch": study.arch,
            "settings": dict(study.settings),
            "seed": config["seed"],
            "split_seed": config["dataset"]["split_seed"],
        }
    )


def pruning_analysis_inputs(wildcards):
    study = PRUNING[wildcards.prune_study]
    inputs = {
        "benchmarks": paths.pruning_benchmarks(wildcards.prune_study),
        "dense": model_input(SimpleNamespace(model=study.dense)),
    }
    if wildcards.entity != paths.DENSE:
        entry = study.entry(wildcards.entity)
        inputs["checkpoint"] = entry.checkpoint or paths.pruned_checkpoint(
            study.name, entry.entity
        )
    return inputs


def pruning_analysis_params(wildcards):
    study = PRUNING[wildcards.prune_study]
    if wildcards.entity == paths.DENSE:
        entry = {"entity": paths.DENSE, "approach": paths.DENSE, "sparsity": 0.0}
    else:
        entry = study.entry(wildcards.entity).params()
    record = None
    if is_trained_here(study.dense):
        record = paths.training_record(study.dense)
    return canonical(
        {
            **dense_params(wildcards),
            **entry,
            "arch": study.arch,
            "record": record,
            "batch_size": config["extraction"]["batch_size"],
            "seed": config["seed"],
        }
    )


def pruning_analyses(wildcards):
    study = PRUNING[wildcards.prune_study]
    return [paths.pruning_analysis(study.name, e) for e in study.entities]


def pruning_summary_params(wildcards):
    study = PRUNING[wildcards.prune_study]
    return canonical(
        {
            "compare": study.compare,
            "caption": study.caption,
            "seed": config["seed"],
            # what the captions state (workflow/report/pruning_*.rst)
            "dense": study.dense,
            "approaches": list(dict.fromkeys(e.approach for e in study.entries)),
            "sparsities": sorted({e.sparsity for e in study.entries}),
        }
    )


def pruning_summary_outputs(study):
    """The outputs of pruning_summary by the keys its job reads; the tables and the PNG
    figures go into the report's "Pruning" category with their captions
    (workflow/report/pruning_<key>.rst), the PDFs beside the PNGs do not."""
    out = {}
    for key, path in paths.pruning_summary(study).items():
        figure = key.endswith("_fig")
        if key in ("models", "benchmarks", "correlations", "fragile") or figure:
            path = report(
                path,
                caption=f"../report/pruning_{key.removesuffix('_fig')}.rst",
                category="Pruning",
                subcategory=study,
            )
        out[key] = path
    return out


def pruning_outputs():
    """Every table and figure of every pruning study."""
    return [p for study in PRUNING for p in paths.pruning_summary(study).values()]
