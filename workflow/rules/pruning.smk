# The robustness lottery (Li et al.): per study, pruned models of several approaches and
# sparsities (one training job each) or pruned checkpoints trained elsewhere, each model's
# last-layer geometry on the study's corrupted benchmarks (one job each), and the study's
# tables and figures (kstarlab.pruning).


wildcard_constraints:
    prune_study=r"[A-Za-z0-9_\-]+",
    entity=r"[A-Za-z0-9_+.\-]+",


rule pruning_benchmarks:
    input:
        unpack(pruning_digits),
    output:
        paths.pruning_benchmarks("{prune_study}"),
    log:
        f"{LOGS}/pruning/{{prune_study}}/benchmarks.log",
    benchmark:
        f"{BENCH}/pruning/{{prune_study}}/benchmarks.tsv"
    conda:
        "../../envs/kstarlab.yaml"
    threads: threads_of("extract")
    resources:
        mem_mb=resource("extract", "mem_mb"),
        runtime=resource("extract", "runtime"),
    params:
        code=code_of("../scripts/pruning_benchmarks.py"),
        settings=pruning_benchmarks_params,
    script:
        "../scripts/pruning_benchmarks.py"


# The approaches train on the CPU (deterministic bytes, like the zoo): no GPU requested.
rule prune_model:
    input:
        unpack(prune_inputs),
    output:
        model=paths.pruned_checkpoint("{prune_study}", "{entity}"),
        record=paths.checkpoint_record(
            paths.pruned_checkpoint("{prune_study}", "{entity}")
        ),
    log:
        f"{LOGS}/pruning/{{prune_study}}/train/{{entity}}.log",
    benchmark:
        f"{BENCH}/pruning/{{prune_study}}/train/{{entity}}.tsv"
    conda:
        "../../envs/kstarlab.yaml"
    threads: threads_of("train")
    resources:
        mem_mb=resource("train", "mem_mb"),
        runtime=resource("train", "runtime"),
    params:
        code=code_of("../scripts/prune_model.py"),
        settings=prune_params,
    script:
        "../scripts/prune_model.py"


rule pruning_analysis:
    input:
        unpack(pruning_analysis_inputs),
    output:
        paths.pruning_analysis("{prune_study}", "{entity}"),
    log:
        f"{LOGS}/pruning/{{prune_study}}/analysis/{{entity}}.log",
    benchmark:
        f"{BENCH}/pruning/{{prune_study}}/analysis/{{entity}}.tsv"
    conda:
        "../../envs/kstarlab.yaml"
    threads: threads_of("geometry")
    resources:
        mem_mb=resource("geometry", "mem_mb"),
        runtime=resource("geometry", "runtime"),
    params:
        code=code_of("../scripts/pruning_analysis.py"),
        settings=pruning_analysis_params,
    script:
        "../scripts/pruning_analysis.py"


rule pruning_summary:
    input:
        analyses=pruning_analyses,
        benchmarks=paths.pruning_benchmarks("{prune_study}"),
    output:
        # the tables, figures and PDFs of kstarlab.paths.pruning_summary (common.smk)
        **pruning_summary_outputs("{prune_study}"),
    log:
        f"{LOGS}/pruning/{{prune_study}}/summary.log",
    benchmark:
        f"{BENCH}/pruning/{{prune_study}}/summary.tsv"
    conda:
        "../../envs/kstarlab.yaml"
    threads: threads_of("aggregate")
    resources:
        mem_mb=resource("aggregate", "mem_mb"),
        runtime=resource("aggregate", "runtime"),
    params:
        code=code_of("../scripts/pruning_summary.py"),
        settings=pruning_summary_params,
    script:
        "../scripts/pruning_summary.py"
