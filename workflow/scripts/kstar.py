"""k* of one (model, layer, transform, metric) (rule kstar)."""

from kstarlab import jobs

sm = snakemake  # noqa: F821 (injected by Snakemake)
with jobs.job_log(sm.log[0]):
    jobs.set_threads(sm.threads)
    jobs.kstar(
        sm.input[0],
        sm.wildcards.layer,
        sm.params.kstar,
        sm.output.samples,
        sm.output.classes,
        device=sm.params.device,
    )
