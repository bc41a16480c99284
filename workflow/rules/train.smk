# The embedded zoo, trained deterministically on the digits train split.


rule train_model:
    input:
        digits=train_digits,
    output:
        model=paths.trained_checkpoint("{model}"),
        meta=paths.training_record("{model}"),
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
        code=code_of("../scripts/train.py"),
        train=train_params,
        device=config["device"],
    script:
        "../scripts/train.py"


# The weights of a pretrained model, recorded without loading them: the file they resolve
# to (a path, or the torch hub cache file of a torchvision enum), its size and SHA-256. A
# weights path is the card's input, so replacing the file reruns the card and, through
# model_input, the model's extractions and geometry.
rule weights_card:
    input:
        weights=weights_input,
    output:
        paths.weights_card("{model}"),
    log:
        f"{LOGS}/weights_card/{{model}}.log",
    benchmark:
        f"{BENCH}/weights_card/{{model}}.tsv"
    group:
        tiny_group("aggregate", "aggregate")
    conda:
        "../../envs/kstarlab.yaml"
    threads: threads_of("aggregate")
    resources:
        mem_mb=resource("aggregate", "mem_mb"),
        runtime=resource("aggregate", "runtime"),
    params:
        code=code_of("../scripts/weights_card.py"),
        model=model_params,
    script:
        "../scripts/weights_card.py"


# A weights card (<name>.weights.json) also matches train_model's training record
# ({model}.json): kstarlab.paths.weights_card.
ruleorder: weights_card > train_model
