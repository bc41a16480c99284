"""Geometry and predictions of one model of a pruning study (rule pruning_analysis)."""

from kstarlab.workflow.jobs.pruning_analyses import pruning_analysis
from kstarlab.workflow.jobs.runtime import job_log, set_threads

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_log(sm.log[0]):
    set_threads(sm.threads)
    pruning_analysis(
        sm.params.settings,
        sm.input.benchmarks,
        sm.output[0],
        checkpoint=sm.input.get("checkpoint"),
    )
