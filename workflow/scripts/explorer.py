"""The interactive explorer page of the run (rule explorer)."""

from kstarlab.workflow.jobs.explorer_page import explorer
from kstarlab.workflow.jobs.runtime import job_log

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_log(sm.log[0]):
    pruning = {name: sm.input[f"pruning_{name}"] for name in sm.params.settings["pruning"]}
    explorer(sm.params.settings, pruning, sm.output[0])
