# k* per (model, layer, transform, metric), and the tidy summary of all of them.


rule kstar:
    input:
        paths.latents("{model}", "{transform}"),
    output:
        samples=paths.kstar_cell("{model}", "{layer}", "{transform}", "{metric}"),
        classes=paths.kstar_cell(
            "{model}", "{layer}", "{transform}", "{metric}", kind="classes"
        ),
    log:
        f"{LOGS}/kstar/{{model}}/{{layer}}/{{transform}}/{{metric}}.log",
    benchmark:
        f"{BENCH}/kstar/{{model}}/{{layer}}/{{transform}}/{{metric}}.tsv"
    group:
        tiny_group("kstar", "kstar")
    conda:
        "../../envs/kstarlab.yaml"
    threads: threads_of("kstar")
    resources:
        mem_mb=resource("kstar", "mem_mb"),
        runtime=resource("kstar", "runtime"),
    params:
        code=code_of("../scripts/kstar.py"),
        kstar=kstar_params,
        device=config["device"],
    script:
        "../scripts/kstar.py"


rule kstar_summary:
    input:
        [paths.kstar_cell(*job, kind="classes") for job in PLAN.kstar_jobs],
    output:
        report(
            paths.KSTAR_SUMMARY,
            caption="../report/summary.rst",
            category="Summary",
        ),
    log:
        f"{LOGS}/kstar_summary.log",
    benchmark:
        f"{BENCH}/kstar_summary.tsv"
    group:
        tiny_group("aggregate", "aggregate")
    conda:
        "../../envs/kstarlab.yaml"
    threads: threads_of("aggregate")
    resources:
        mem_mb=resource("aggregate", "mem_mb"),
        runtime=resource("aggregate", "runtime"),
    params:
        code=code_of("../scripts/kstar_summary.py"),
        jobs=[list(job) for job in PLAN.kstar_jobs],
    script:
        "../scripts/kstar_summary.py"
