"""Describe the evaluated dataset (rule dataset_card)."""

from kstarlab.workflow.jobs.cards import dataset_card
from kstarlab.workflow.jobs.runtime import job_log

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_log(sm.log[0]):
    dataset_card(sm.params.dataset, sm.output[0], prepared=sm.input.get("digits"))
