# The second paper: per-model geometric features and robustness to corruptions and
# pruning, then correlations, embeddings and figures across the models.


rule geometry_model:
    input:
        unpack(geometry_inputs),
    output:
        features=paths.geometry_model("{model}", "features"),
        samples=paths.geometry_model("{model}", "samples"),
        pruning=paths.geometry_model("{model}", "pruning"),
    log:
        f"{LOGS}/geometry/{{model}}.log",
    benchmark:
        f"{BENCH}/geometry/{{model}}.tsv"
    conda:
        "../../envs/kstarlab.yaml"
    threads: threads_of("geometry")
    resources:
        mem_mb=resource("geometry", "mem_mb"),
        runtime=resource("geometry", "runtime"),
    params:
        code=code_of("../scripts/geometry_model.py"),
        geometry=geometry_params,
    script:
        "../scripts/geometry_model.py"


rule geometry_summary:
    input:
        samples=geometry_models("samples"),
        pruning=geometry_models("pruning"),
        features=geometry_models("features"),
    output:
        # the tables, figures and PDFs of kstarlab.paths.geometry_summary (common.smk)
        **geometry_summary_outputs(),
    log:
        f"{LOGS}/geometry/summary.log",
    benchmark:
        f"{BENCH}/geometry/summary.tsv"
    conda:
        "../../envs/kstarlab.yaml"
    threads: threads_of("geometry")
    resources:
        mem_mb=resource("geometry", "mem_mb"),
        runtime=resource("geometry", "runtime"),
    params:
        code=code_of("../scripts/geometry_summary.py"),
        models=list(PLAN.geometry_models),
        seed=config["seed"],
    script:
        "../scripts/geometry_summary.py"
