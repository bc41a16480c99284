# Tables as HTML pages for the report; `snakemake --report results/report.html` (run by
# `make run`) gathers every report() output with its caption, categorised by study.


rule study_table_html:
    input:
        markdown=paths.study_table("{study}", "markdown"),
        per_class=paths.study_table("{study}", "per_class"),
        patterns=paths.study_table("{study}", "patterns"),
    output:
        report(
            paths.study_table("{study}", "html"),
            caption="../report/tables.rst",
            category="{study}",
            subcategory="tables",
        ),
    log:
        f"{LOGS}/tables/{{study}}.html.log",
    benchmark:
        f"{BENCH}/tables/{{study}}.html.tsv"
    group:
        tiny_group("aggregate", "aggregate")
    conda:
        "../../envs/kstarlab.yaml"
    threads: threads_of("aggregate")
    resources:
        mem_mb=resource("aggregate", "mem_mb"),
        runtime=resource("aggregate", "runtime"),
    params:
        code=code_of("../scripts/table_html.py"),
    script:
        "../scripts/table_html.py"
