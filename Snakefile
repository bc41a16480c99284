# kstarlab: k* distributions and geometric features of neural network latent spaces.
# Run with `make run` (or `snakemake --cores all`); see README.md and config/README.md.
from snakemake.utils import min_version

min_version("9.0")


# `--configfile other.yaml` replaces the default config instead of merging into it.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/extract.smk"
include: "workflow/rules/kstar.smk"
include: "workflow/rules/geometry.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/embeddings.smk"
include: "workflow/rules/pruning.smk"
include: "workflow/rules/explorer.smk"
include: "workflow/rules/dvc.smk"


rule all:
    default_target: True
    input:
        all_outputs(),
