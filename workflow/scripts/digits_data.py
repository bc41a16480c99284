"""Write the digits and one train/test split, once (rule digits_data)."""

from kstarlab.workflow.jobs.data import digits_data
from kstarlab.workflow.jobs.runtime import job_log

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job_log(sm.log[0]):
    digits_data(int(sm.wildcards.seed), sm.output[0])
