"""Record a pretrained model's weights file, size and SHA-256 (rule weights_card)."""

from kstarlab.workflow.jobs.cards import weights_card
from kstarlab.workflow.jobs.runtime import job_log

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_log(sm.log[0]):
    weights_card(sm.wildcards.model, sm.params.model, sm.output[0])
