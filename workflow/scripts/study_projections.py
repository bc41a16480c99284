"""k* beside 2-D projections for one study (rule study_projections)."""

from kstarlab.workflow.jobs.figures import study_projections
from kstarlab.workflow.jobs.runtime import job_log, set_threads

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_log(sm.log[0]):
    set_threads(sm.threads)
    study_projections(
        list(sm.input.samples),
        list(sm.input.latents),
        sm.params.study,
        sm.params.seed,
        sm.output.figure,
        sm.output.coordinates,
    )
