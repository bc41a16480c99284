# One extraction per (model, transform): every layer any study needs, in one HDF5 file.


rule extract:
    input:
        unpack(digits_input),
        model=model_input,
    output:
        paths.latents("{model}", "{transform}"),
    log:
        f"{LOGS}/extract/{{model}}/{{transform}}.log",
    benchmark:
        f"{BENCH}/extract/{{model}}/{{transform}}.tsv"
    conda:
        "../../envs/kstarlab.yaml"
    threads: threads_of("extract")
    resources:
        mem_mb=resource("extract", "mem_mb"),
        runtime=resource("extract", "runtime"),
        gpu=resource("extract", "gpu"),
    params:
        code=code_of("../scripts/extract.py"),
        model=model_params,
        settings=extract_params,
        device=config["device"],
    script:
        "../scripts/extract.py"
