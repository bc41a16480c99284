# The evaluated dataset, described once so every job reads the same images.


rule dataset_card:
    output:
        "results/data/dataset.json",
    log:
        f"{LOGS}/dataset_card.log",
    benchmark:
        f"{BENCH}/dataset_card.tsv"
    conda:
        "../../envs/kstarlab.yaml"
    params:
        code=CODE["extract"],
        dataset=config["dataset"],
    script:
        "../scripts/dataset_card.py"
