"""Trend figure of one transform study (rule study_trend)."""

from kstarlab import jobs

sm = snakemake  # noqa: F821 (injected by Snakemake)
with jobs.job_log(sm.log[0]):
    jobs.study_trend(list(sm.input), sm.params.study, sm.output[0])
