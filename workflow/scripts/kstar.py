"""k* of one (model, layer, transform, metric) (rule kstar)."""

from kstarlab.workflow.jobs.kstar_cells import kstar
from kstarlab.workflow.jobs.runtime import job_log, set_threads

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_log(sm.log[0]):
    set_threads(sm.threads)
    kstar(
        sm.input[0],
        sm.wildcards.layer,
        sm.params.kstar,
        sm.output.samples,
        sm.output.classes,
        device=sm.params.device,
    )
