"""Train one pruned model of a pruning study (rule prune_model)."""

from kstarlab.workflow.jobs.pruned_models import prune
from kstarlab.workflow.jobs.runtime import job_log, set_threads

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_log(sm.log[0]):
    set_threads(sm.threads)
    prune(
        sm.params.settings,
        sm.output.model,
        dense=sm.input.get("dense"),
        prepared=sm.input.get("digits"),
    )
