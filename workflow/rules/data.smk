# The evaluated dataset, described once so every job reads the same images.


rule dataset_card:
    output:
        paths.DATASET_CARD,
    log:
        f"{LOGS}/dataset_card.log",
    benchmark:
        f"{BENCH}/dataset_card.tsv"
    group:
        tiny_group("aggregate", "aggregate")
    conda:
        "../../envs/kstarlab.yaml"
    threads: threads_of("aggregate")
    resources:
        mem_mb=resource("aggregate", "mem_mb"),
        runtime=resource("aggregate", "runtime"),
    params:
        code=code_of("../scripts/dataset_card.py"),
        dataset=canonical(config["dataset"]),
    script:
        "../scripts/dataset_card.py"
