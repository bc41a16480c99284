# Targets of the DVC stages in dvc.yaml: `snakemake dvc_<stage>` builds everything that
# stage versions. DVC decides which stages run; Snakemake decides which jobs inside them.


rule dvc_data:
    input:
        paths.DATASET_CARD,
        digits_files(),


# Every zoo model and the weights card of every pretrained model declared under `models:`,
# used by a study or not: the stage reads no study.
rule dvc_models:
    input:
        [
            path(name)
            for name in config["models"]
            if is_trained_here(name)
            for path in (paths.trained_checkpoint, paths.training_record)
        ],
        [paths.weights_card(name) for name in config["models"] if is_pretrained(name)],


rule dvc_latents:
    input:
        [paths.latents(m, t) for m, t in PLAN.extractions],


rule dvc_analysis:
    input:
        paths.KSTAR_SUMMARY,
        geometry_outputs(),


rule dvc_embeddings:
    input:
        embedding_outputs(),


rule dvc_pruning:
    input:
        pruning_outputs(),


rule dvc_report:
    input:
        all_outputs(),
