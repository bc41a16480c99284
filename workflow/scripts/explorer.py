"""The interactive explorer page of the run (rule explorer)."""

from kstarlab.explorer import MAX_POINTS, write_explorer
from kstarlab.workflow.jobs.runtime import job_log

sm = snakemake  # noqa: F821 (injected by Snakemake)
settings = sm.params.settings
with job_log(sm.log[0]):
    write_explorer(
        settings["results"],
        sm.output[0],
        studies=settings["studies"],
        pruning={name: list(sm.input[f"pruning_{name}"]) for name in settings["pruning"]},
        limit=settings["max_points"] or MAX_POINTS,
        seed=settings["seed"],
    )
