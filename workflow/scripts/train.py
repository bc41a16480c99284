"""Train one zoo model (rule train_model)."""

from kstarlab import jobs

sm = snakemake  # noqa: F821 (injected by Snakemake)
with jobs.job_log(sm.log[0]):
    jobs.set_threads(sm.threads)
    jobs.train(sm.params.train, sm.output.model, device=sm.params.device)
