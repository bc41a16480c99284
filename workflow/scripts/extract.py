"""Extract one model's layers under one transform to HDF5 (rule extract)."""

from kstarlab.workflow.jobs.extraction import extract
from kstarlab.workflow.jobs.runtime import job_log, set_threads

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_log(sm.log[0]):
    set_threads(sm.threads)
    extract(
        sm.wildcards.model,
        sm.params.model,
        sm.wildcards.transform,
        sm.params.settings,
        sm.output[0],
        device=sm.params.device,
        prepared=sm.input.get("digits"),
    )
