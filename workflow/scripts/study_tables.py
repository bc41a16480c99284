"""The paper's tables of one study (rule study_tables)."""

from kstarlab import jobs

sm = snakemake  # noqa: F821 (injected by Snakemake)
with jobs.job_log(sm.log[0]):
    jobs.study_tables(
        list(sm.input.cells),
        sm.params.study,
        dict(sm.output.items()),
        latents=list(sm.input.latents),
    )
