"""Correlations, embeddings and figures across models (rule geometry_summary)."""

from kstarlab.workflow.jobs.geometry import geometry_summary
from kstarlab.workflow.jobs.runtime import job_log

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_log(sm.log[0]):
    geometry_summary(
        sm.params.models,
        list(sm.input.samples),
        list(sm.input.pruning),
        list(sm.input.features),
        dict(sm.output.items()),
        seed=sm.params.seed,
    )
