"""Geometric features and robustness of one model (rule geometry_model)."""

from kstarlab.workflow.jobs.geometry import geometry_model
from kstarlab.workflow.jobs.runtime import job_log, set_threads

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_log(sm.log[0]):
    set_threads(sm.threads)
    geometry_model(
        sm.wildcards.model,
        sm.params.geometry,
        sm.input.clean,
        dict(sm.output.items()),
        corrupted=list(sm.input.get("corrupted", [])) or None,
        prepared=sm.input.get("digits"),
    )
