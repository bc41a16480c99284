"""k* distribution figure of one study (rule study_distributions)."""

from kstarlab.workflow.jobs.figures import study_distributions
from kstarlab.workflow.jobs.runtime import job_log

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_log(sm.log[0]):
    study_distributions(
        list(sm.input.samples), list(sm.input.classes), sm.params.study, sm.output[0]
    )
