"""The tidy summary of every k* job (rule kstar_summary)."""

from kstarlab import jobs

sm = snakemake  # noqa: F821 (injected by Snakemake)
with jobs.job_log(sm.log[0]):
    jobs.kstar_summary_table(list(sm.input), sm.params.jobs, sm.output[0])
