"""Record a pretrained model's weights file, size and SHA-256 (rule weights_card)."""

from kstarlab import jobs

sm = snakemake  # noqa: F821 (injected by Snakemake)
with jobs.job_log(sm.log[0]):
    jobs.weights_card(sm.wildcards.model, sm.params.model, sm.output[0])
