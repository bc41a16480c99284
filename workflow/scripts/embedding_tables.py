"""Table XXI of the configured embeddings (rule embedding_tables)."""

from kstarlab import jobs

sm = snakemake  # noqa: F821 (injected by Snakemake)
with jobs.job_log(sm.log[0]):
    jobs.embedding_tables(list(sm.input), sm.params.settings, dict(sm.output.items()))
