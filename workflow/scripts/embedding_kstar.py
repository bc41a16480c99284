"""k* of one embedding file (rule embedding_kstar)."""

from kstarlab import jobs

sm = snakemake  # noqa: F821 (injected by Snakemake)
with jobs.job_log(sm.log[0]):
    jobs.set_threads(sm.threads)
    jobs.embedding_kstar(
        sm.input[0],
        sm.params.kstar,
        sm.output.samples,
        sm.output.classes,
        device=sm.params.device,
    )
