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
    threads: threads_of("train")
    resources:
        mem_mb=resource("train", "mem_mb"),
        runtime=resource("train", "runtime"),
        gpu=resource("train", "gpu"),
    params:
        code=CODE["train"],
        train=train_params,
        device=config["device"],
    script:
        "../scripts/train.py"
