"""Extract one model's layers under one transform to HDF5 (rule extract)."""

from kstarlab import jobs

sm = snakemake  # noqa: F821 (injected by Snakemake)
with jobs.job_log(sm.log[0]):
    jobs.set_threads(sm.threads)
    jobs.extract(
        sm.wildcards.model,
        sm.params.model,
        sm.wildcards.transform,
        sm.params.settings,
        sm.output[0],
        device=sm.params.device,
    )
