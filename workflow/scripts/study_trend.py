"""Trend figure of one transform study (rule study_trend)."""

from kstarlab.workflow.jobs.runtime import job_log
from kstarlab.workflow.jobs.trend import study_trend

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_log(sm.log[0]):
    study_trend(list(sm.input), sm.params.study, sm.output[0])
