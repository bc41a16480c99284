# The embedded zoo, trained deterministically on the digits train split.


rule train_model:
    output:
        model="results/models/{model}.pt",
        meta="results/models/{model}.json",
    log:
        f"{LOGS}/train/{{model}}.log",
    benchmark:
        f"{BENCH}/train/{{model}}.tsv"
    conda:
        "../../envs/kstarlab.yaml"
    threads: 2
    resources:
        mem_mb=2000,
        runtime=30,
        gpu=gpu_resources(),
    params:
        code=CODE["train"],
        train=train_params,
        device=config["device"],
    script:
        "../scripts/train.py"
