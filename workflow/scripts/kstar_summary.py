"""The tidy summary of every k* job (rule kstar_summary)."""

from kstarlab.workflow.jobs.runtime import job_log
from kstarlab.workflow.jobs.summaries import kstar_summary_table

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_log(sm.log[0]):
    kstar_summary_table(list(sm.input), sm.params.jobs, sm.output[0])
