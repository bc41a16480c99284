"""A study's tables as an HTML page for the report (rule study_table_html)."""

from kstarlab import jobs

sm = snakemake  # noqa: F821 (injected by Snakemake)
with jobs.job_log(sm.log[0]):
    jobs.table_html(
        sm.input.markdown,
        sm.input.per_class,
        sm.input.patterns,
        sm.wildcards.study,
        sm.output[0],
    )
