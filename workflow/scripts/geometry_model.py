"""Geometric features and robustness of one model (rule geometry_model)."""

from kstarlab import jobs

sm = snakemake  # noqa: F821 (injected by Snakemake)
with jobs.job_log(sm.log[0]):
    jobs.set_threads(sm.threads)
    jobs.geometry_model(
        sm.wildcards.model,
        sm.params.geometry,
        sm.input.clean,
        dict(sm.output.items()),
        corrupted=list(sm.input.get("corrupted", [])) or None,
    )
