"""k* distributions of the configured embeddings (rule embedding_distributions)."""

from kstarlab import jobs

sm = snakemake  # noqa: F821 (injected by Snakemake)
with jobs.job_log(sm.log[0]):
    jobs.embedding_distributions(list(sm.input.samples), sm.params.settings, sm.output[0])
