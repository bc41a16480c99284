"""A demonstration embedding: a scikit-learn table through an MLP's logits (rule embedding_demo)."""

from kstarlab.workflow.jobs.demo_embeddings import embedding_demo
from kstarlab.workflow.jobs.runtime import job_log, set_threads

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_log(sm.log[0]):
    set_threads(sm.threads)
    embedding_demo(sm.wildcards.demo, sm.params.seed, sm.output[0])
