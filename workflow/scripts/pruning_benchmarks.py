"""The clean and corrupted images of a pruning study (rule pruning_benchmarks)."""

from kstarlab.workflow.jobs.pruning_analyses import pruning_benchmarks
from kstarlab.workflow.jobs.runtime import job_log, set_threads

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_log(sm.log[0]):
    set_threads(sm.threads)
    pruning_benchmarks(sm.params.settings, sm.output[0], prepared=sm.input.get("digits"))
