"""The workflow's jobs as plain functions: each Snakemake script unpacks its rule and calls
one of these, so the pipeline's logic is importable, testable and usable without Snakemake.

One module per family of jobs, so that a job imports (and its rule's code set holds) only
its own family (`kstarlab.workflow.codesets`):

- `runtime`: the job's log, threads, and the record of the kstarlab modules it loaded;
- `inputs`: loading the configured dataset and models;
- `data`: the digits and their split, written once (the data rule);
- `cards`: the dataset card and the weights card;
- `training`: training a zoo model;
- `extraction`: latents of a model under a transform;
- `kstar_cells`: k* of one (model, layer, transform, metric);
- `summaries`: the tidy summary, and reading k* cells back;
- `reports`: a study's tables (CSV, Markdown, LaTeX, HTML);
- `figures`: a study's distribution and projection figures;
- `trend`: a study's trend figure;
- `geometry`: the geometry study;
- `embedding_cells`: k* of one embedding file of another domain (Table XXI);
- `demo_embeddings`: a demonstration embedding file (a scikit-learn table, an MLP);
- `embeddings`: Table XXI's table and figure;
- `pruned_models`: a pruning study's pruned models;
- `pruning_analyses`: its benchmarks and each model's geometry on them;
- `pruning_summaries`: its tables and figures;
- `explorer_page`: the run's interactive explorer page.

Every function takes explicit paths and settings, writes its outputs atomically, and
logs to the job's log file when run under `job_log`. ``from kstarlab.workflow import jobs;
jobs.kstar(...)`` works too: a name is imported from its family on first use (PEP 562).
"""

from __future__ import annotations

import importlib
import os
from typing import Any

# Jobs run on nodes without a display: plot to files (the library never forces a backend).
os.environ.setdefault("MPLBACKEND", "Agg")

# Each job function's family module (kstarlab.workflow.codesets reads this map: `from kstarlab.workflow.jobs
# import kstar` depends on kstarlab.workflow.jobs.kstar_cells only).
_LAZY = {
    "job_log": "kstarlab.workflow.jobs.runtime",
    "set_threads": "kstarlab.workflow.jobs.runtime",
    "load_images": "kstarlab.workflow.jobs.inputs",
    "load_model_entry": "kstarlab.workflow.jobs.inputs",
    "digits_data": "kstarlab.workflow.jobs.data",
    "dataset_card": "kstarlab.workflow.jobs.cards",
    "weights_file": "kstarlab.workflow.jobs.cards",
    "weights_card": "kstarlab.workflow.jobs.cards",
    "train": "kstarlab.workflow.jobs.training",
    "extract": "kstarlab.workflow.jobs.extraction",
    "perturb_config": "kstarlab.workflow.jobs.extraction",
    "kstar": "kstarlab.workflow.jobs.kstar_cells",
    "read_cell": "kstarlab.workflow.jobs.summaries",
    "kstar_summary_table": "kstarlab.workflow.jobs.summaries",
    "study_summary": "kstarlab.workflow.jobs.summaries",
    "study_tables": "kstarlab.workflow.jobs.reports",
    "table_html": "kstarlab.workflow.jobs.reports",
    "study_distributions": "kstarlab.workflow.jobs.figures",
    "study_projections": "kstarlab.workflow.jobs.figures",
    "study_trend": "kstarlab.workflow.jobs.trend",
    "geometry_model": "kstarlab.workflow.jobs.geometry",
    "geometry_summary": "kstarlab.workflow.jobs.geometry",
    "embedding_demo": "kstarlab.workflow.jobs.demo_embeddings",
    "embedding_kstar": "kstarlab.workflow.jobs.embedding_cells",
    "embedding_tables": "kstarlab.workflow.jobs.embeddings",
    "embedding_distributions": "kstarlab.workflow.jobs.embeddings",
    "pruning_benchmarks": "kstarlab.workflow.jobs.pruning_analyses",
    "prune": "kstarlab.workflow.jobs.pruned_models",
    "pruning_analysis": "kstarlab.workflow.jobs.pruning_analyses",
    "pruning_summary": "kstarlab.workflow.jobs.pruning_summaries",
    "explorer": "kstarlab.workflow.jobs.explorer_page",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kstarlab.workflow.jobs' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
