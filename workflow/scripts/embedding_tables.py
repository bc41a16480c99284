"""Table XXI of the configured embeddings (rule embedding_tables)."""

from kstarlab.workflow.jobs.embeddings import embedding_tables
from kstarlab.workflow.jobs.runtime import job_log

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_log(sm.log[0]):
    embedding_tables(list(sm.input), sm.params.settings, dict(sm.output.items()))
