# The second paper: per-model geometric features and robustness to corruptions and
# pruning, then correlations, embeddings and figures across the models.


rule geometry_model:
    input:
        unpack(geometry_inputs),
    output:
        features="results/geometry/{model}/features.h5",
        samples="results/geometry/{model}/samples.csv",
        pruning="results/geometry/{model}/pruning.csv",
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
        samples=expand(
            "results/geometry/{model}/samples.csv", model=PLAN.geometry_models
        ),
        pruning=expand(
            "results/geometry/{model}/pruning.csv", model=PLAN.geometry_models
        ),
        features=expand(
            "results/geometry/{model}/features.h5", model=PLAN.geometry_models
        ),
    output:
        correlations=report(
            "results/geometry/correlations.csv",
            caption="../report/geometry_correlations.rst",
            category="geometry",
            subcategory="tables",
        ),
        poster=report(
            "results/geometry/poster_tables.md",
            caption="../report/geometry_poster.rst",
            category="geometry",
            subcategory="tables",
        ),
        embedding="results/geometry/embedding.csv",
        embedding_fig=report(
            "results/geometry/figures/embedding.png",
            caption="../report/geometry_embedding.rst",
            category="geometry",
            subcategory="figures",
        ),
        heatmap_fig=report(
            "results/geometry/figures/corruption_similarity.png",
            caption="../report/geometry_heatmap.rst",
            category="geometry",
            subcategory="figures",
        ),
        scatter_fig=report(
            "results/geometry/figures/angle_length.png",
            caption="../report/geometry_scatter.rst",
            category="geometry",
            subcategory="figures",
        ),
        margins_fig=report(
            "results/geometry/figures/margins.png",
            caption="../report/geometry_margins.rst",
            category="geometry",
            subcategory="figures",
        ),
        sparsity_fig=report(
            "results/geometry/figures/accuracy_sparsity.png",
            caption="../report/geometry_sparsity.rst",
            category="geometry",
            subcategory="figures",
        ),
        # save_figure writes a PDF beside every PNG figure
        embedding_pdf="results/geometry/figures/embedding.pdf",
        heatmap_pdf="results/geometry/figures/corruption_similarity.pdf",
        scatter_pdf="results/geometry/figures/angle_length.pdf",
        margins_pdf="results/geometry/figures/margins.pdf",
        sparsity_pdf="results/geometry/figures/accuracy_sparsity.pdf",
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
