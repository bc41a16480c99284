# The interactive explorer (kstarlab.explorer): one offline HTML page with linked views of
# the pruning studies, the k* cells and the projections, made after their summaries.


rule explorer:
    input:
        unpack(explorer_inputs),
    output:
        report(
            paths.EXPLORER,
            caption="../report/explorer.rst",
            category="Explorer",
        ),
    log:
        f"{LOGS}/explorer.log",
    benchmark:
        f"{BENCH}/explorer.tsv"
    conda:
        "../../envs/kstarlab.yaml"
    threads: threads_of("aggregate")
    resources:
        mem_mb=resource("aggregate", "mem_mb"),
        runtime=resource("aggregate", "runtime"),
    params:
        code=code_of("../scripts/explorer.py"),
        settings=explorer_params,
    script:
        "../scripts/explorer.py"
