"""A study's tables as an HTML page for the report (rule study_table_html)."""

from kstarlab.workflow.jobs.reports import table_html
from kstarlab.workflow.jobs.runtime import job_log

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_log(sm.log[0]):
    table_html(
        sm.input.markdown,
        sm.input.per_class,
        sm.input.patterns,
        sm.wildcards.study,
        sm.output[0],
    )
