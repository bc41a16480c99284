"""The paper's tables of one study (rule study_tables)."""

from kstarlab.workflow.jobs.reports import study_tables
from kstarlab.workflow.jobs.runtime import job_log

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_log(sm.log[0]):
    study_tables(
        list(sm.input.cells),
        sm.params.study,
        dict(sm.output.items()),
        latents=list(sm.input.latents),
    )
