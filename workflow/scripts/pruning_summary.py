"""The tables and figures of a pruning study across its models (rule pruning_summary)."""

from kstarlab.workflow.jobs.pruning_summaries import pruning_summary
from kstarlab.workflow.jobs.runtime import job_log

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_log(sm.log[0]):
    pruning_summary(
        list(sm.input.analyses), dict(sm.output.items()), sm.input.benchmarks, sm.params.settings
    )
