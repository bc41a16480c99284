# The paper's tables and figures, per study.


rule study_tables:
    input:
        cells=study_cells,
        latents=study_latents,  # their attributes say which layers were pooled
    output:
        per_class=paths.study_table("{study}", "per_class"),
        patterns=paths.study_table("{study}", "patterns"),
        markdown=paths.study_table("{study}", "markdown"),
        latex=paths.study_table("{study}", "latex"),
    log:
        f"{LOGS}/tables/{{study}}.log",
    benchmark:
        f"{BENCH}/tables/{{study}}.tsv"
    group:
        tiny_group("aggregate", "aggregate")
    conda:
        "../../envs/kstarlab.yaml"
    threads: threads_of("aggregate")
    resources:
        mem_mb=resource("aggregate", "mem_mb"),
        runtime=resource("aggregate", "runtime"),
    params:
        code=code_of("../scripts/study_tables.py"),
        study=study_params,
    script:
        "../scripts/study_tables.py"


rule study_distributions:
    input:
        samples=study_samples,
        classes=study_cells,
    output:
        report(
            paths.study_figure("{study}", "distributions"),
            caption="../report/distributions.rst",
            category="{study}",
            subcategory="k* distributions",
        ),
    log:
        f"{LOGS}/figures/{{study}}/distributions.log",
    benchmark:
        f"{BENCH}/figures/{{study}}/distributions.tsv"
    group:
        tiny_group("aggregate", "aggregate")
    conda:
        "../../envs/kstarlab.yaml"
    threads: threads_of("aggregate")
    resources:
        mem_mb=resource("aggregate", "mem_mb"),
        runtime=resource("aggregate", "runtime"),
    params:
        code=code_of("../scripts/study_distributions.py"),
        study=study_params,
    script:
        "../scripts/study_distributions.py"


rule study_trend:
    input:
        study_cells,
    output:
        report(
            paths.study_figure("{study}", "trend"),
            caption="../report/trend.rst",
            category="{study}",
            subcategory="trends",
        ),
    log:
        f"{LOGS}/figures/{{study}}/trend.log",
    benchmark:
        f"{BENCH}/figures/{{study}}/trend.tsv"
    group:
        tiny_group("aggregate", "aggregate")
    conda:
        "../../envs/kstarlab.yaml"
    threads: threads_of("aggregate")
    resources:
        mem_mb=resource("aggregate", "mem_mb"),
        runtime=resource("aggregate", "runtime"),
    params:
        code=code_of("../scripts/study_trend.py"),
        study=study_params,
    script:
        "../scripts/study_trend.py"


rule study_projections:
    input:
        samples=study_samples,
        latents=study_latents,
    output:
        figure=report(
            paths.study_figure("{study}", "projections"),
            caption="../report/projections.rst",
            category="{study}",
            subcategory="projections",
        ),
        coordinates=paths.study_projection_coordinates("{study}"),
    log:
        f"{LOGS}/figures/{{study}}/projections.log",
    benchmark:
        f"{BENCH}/figures/{{study}}/projections.tsv"
    conda:
        "../../envs/kstarlab.yaml"
    threads: threads_of("projections")
    resources:
        mem_mb=resource("projections", "mem_mb"),
        runtime=resource("projections", "runtime"),
    params:
        code=code_of("../scripts/study_projections.py"),
        study=study_params,
        seed=config["seed"],
    script:
        "../scripts/study_projections.py"
