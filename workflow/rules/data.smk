# The evaluated data, made once so every job reads the same images and split.


# The digits and their stratified 70/30 train/test split of one seed, made with
# scikit-learn's public API (kstarlab.latents.digits). Every job that trains or evaluates on the
# digits reads this file (input `digits`), so none imports scikit-learn or redraws the split.
rule digits_data:
    output:
        paths.digits_file("{seed}"),
    log:
        f"{LOGS}/digits_data/{{seed}}.log",
    benchmark:
        f"{BENCH}/digits_data/{{seed}}.tsv"
    wildcard_constraints:
        seed=r"[0-9]+",
    conda:
        "../../envs/kstarlab.yaml"
    threads: threads_of("aggregate")
    resources:
        mem_mb=resource("aggregate", "mem_mb"),
        runtime=resource("aggregate", "runtime"),
    params:
        code=code_of("../scripts/digits_data.py"),
    script:
        "../scripts/digits_data.py"


rule dataset_card:
    input:
        unpack(digits_input),
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
