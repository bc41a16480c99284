"""Correlations, embeddings and figures across models (rule geometry_summary)."""

from kstarlab import jobs

sm = snakemake  # noqa: F821 (injected by Snakemake)
with jobs.job_log(sm.log[0]):
    jobs.geometry_summary(
        sm.params.models,
        list(sm.input.samples),
        list(sm.input.pruning),
        list(sm.input.features),
        dict(sm.output.items()),
        seed=sm.params.seed,
    )
