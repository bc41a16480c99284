"""A demonstration embedding: a scikit-learn table through an MLP's logits (rule embedding_demo)."""

from kstarlab import jobs

sm = snakemake  # noqa: F821 (injected by Snakemake)
with jobs.job_log(sm.log[0]):
    jobs.set_threads(sm.threads)
    jobs.embedding_demo(sm.wildcards.demo, sm.params.seed, sm.output[0])
