"""k* distribution figure of one study (rule study_distributions)."""

from kstarlab import jobs

sm = snakemake  # noqa: F821 (injected by Snakemake)
with jobs.job_log(sm.log[0]):
    jobs.study_distributions(list(sm.input), sm.params.study, sm.output[0])
