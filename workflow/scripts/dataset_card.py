"""Describe the evaluated dataset (rule dataset_card)."""

from kstarlab import jobs

sm = snakemake  # noqa: F821 (injected by Snakemake)
with jobs.job_log(sm.log[0]):
    jobs.dataset_card(sm.params.dataset, sm.output[0])
