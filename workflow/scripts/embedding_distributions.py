"""k* distributions of the configured embeddings (rule embedding_distributions)."""

from kstarlab.workflow.jobs.embeddings import embedding_distributions
from kstarlab.workflow.jobs.runtime import job_log

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_log(sm.log[0]):
    embedding_distributions(
        list(sm.input.samples), list(sm.input.classes), sm.params.settings, sm.output[0]
    )
