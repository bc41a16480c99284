"""k* beside 2-D projections for one study (rule study_projections)."""

from kstarlab import jobs

sm = snakemake  # noqa: F821 (injected by Snakemake)
with jobs.job_log(sm.log[0]):
    jobs.set_threads(sm.threads)
    jobs.study_projections(
        list(sm.input.samples),
        list(sm.input.latents),
        sm.params.study,
        sm.params.seed,
        sm.output[0],
    )
