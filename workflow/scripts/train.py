"""Train one zoo model (rule train_model)."""

from kstarlab.workflow.jobs.runtime import job_log, set_threads
from kstarlab.workflow.jobs.training import train

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_log(sm.log[0]):
    set_threads(sm.threads)
    train(
        sm.params.train,
        sm.output.model,
        device=sm.params.device,
        prepared=sm.input.digits,
    )
