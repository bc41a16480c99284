# The k* paper's Table XXI: k* of embeddings from other domains, one file per (domain,
# model), and the table of their pattern averages (kstarlab.kstar.embeddings). A `demo` source
# is made here: a scikit-learn table embedded by a small MLP's logits (kstarlab.kstar.embedding_demo).


wildcard_constraints:
    source=r"[A-Za-z0-9_+.\-]+",
    demo=r"[a-z_]+",


rule embedding_demo:
    output:
        paths.embedding_demo("{demo}"),
    log:
        f"{LOGS}/embeddings/demo/{{demo}}.log",
    benchmark:
        f"{BENCH}/embeddings/demo/{{demo}}.tsv"
    conda:
        "../../envs/kstarlab.yaml"
    threads: threads_of("aggregate")
    resources:
        mem_mb=resource("aggregate", "mem_mb"),
        runtime=resource("aggregate", "runtime"),
    params:
        code=code_of("../scripts/embedding_demo.py"),
        seed=config["seed"],
    script:
        "../scripts/embedding_demo.py"


rule embedding_kstar:
    input:
        embedding_file,
    output:
        samples=paths.embedding_kstar("{source}"),
        classes=paths.embedding_kstar("{source}", kind="classes"),
    log:
        f"{LOGS}/embeddings/kstar/{{source}}.log",
    benchmark:
        f"{BENCH}/embeddings/kstar/{{source}}.tsv"
    conda:
        "../../envs/kstarlab.yaml"
    threads: threads_of("kstar")
    resources:
        mem_mb=resource("kstar", "mem_mb"),
        runtime=resource("kstar", "runtime"),
    params:
        code=code_of("../scripts/embedding_kstar.py"),
        kstar=canonical(
            {
                **metric_args(config["embeddings"]["metric"]),
                **config["kstar"],
                "seed": config["seed"],
            }
        ),
        device=config["device"],
    script:
        "../scripts/embedding_kstar.py"


rule embedding_tables:
    input:
        embedding_results("classes"),
    output:
        csv=paths.embedding_table("csv"),
        summary=paths.embedding_table("summary"),
        markdown=paths.embedding_table("markdown"),
        latex=paths.embedding_table("latex"),
        html=report(
            paths.embedding_table("html"),
            caption="../report/embeddings_table.rst",
            category="Other domains",
            subcategory="tables",
        ),
    log:
        f"{LOGS}/embeddings/tables.log",
    benchmark:
        f"{BENCH}/embeddings/tables.tsv"
    conda:
        "../../envs/kstarlab.yaml"
    threads: threads_of("aggregate")
    resources:
        mem_mb=resource("aggregate", "mem_mb"),
        runtime=resource("aggregate", "runtime"),
    params:
        code=code_of("../scripts/embedding_tables.py"),
        settings=embedding_settings(),
    script:
        "../scripts/embedding_tables.py"


rule embedding_distributions:
    input:
        samples=embedding_results("samples"),
        classes=embedding_results("classes"),
    output:
        report(
            paths.EMBEDDING_DISTRIBUTIONS,
            caption="../report/embeddings_distributions.rst",
            category="Other domains",
            subcategory="k* distributions",
        ),
    log:
        f"{LOGS}/embeddings/distributions.log",
    benchmark:
        f"{BENCH}/embeddings/distributions.tsv"
    conda:
        "../../envs/kstarlab.yaml"
    threads: threads_of("aggregate")
    resources:
        mem_mb=resource("aggregate", "mem_mb"),
        runtime=resource("aggregate", "runtime"),
    params:
        code=code_of("../scripts/embedding_distributions.py"),
        settings=canonical({"sources": [source.params() for source in PLAN.embeddings]}),
    script:
        "../scripts/embedding_distributions.py"
