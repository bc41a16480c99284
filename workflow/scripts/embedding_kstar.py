"""k* of one embedding file (rule embedding_kstar)."""

from kstarlab.workflow.jobs.embedding_cells import embedding_kstar
from kstarlab.workflow.jobs.runtime import job_log, set_threads

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_log(sm.log[0]):
    set_threads(sm.threads)
    embedding_kstar(
        sm.input[0],
        sm.params.kstar,
        sm.output.samples,
        sm.output.classes,
        device=sm.params.device,
    )
