"""The Snakemake workflow's library side: the plan and the one config check (`plan`), which
library code each rule runs (`codesets`), the jobs the rules' scripts call (`jobs`), DVC
helpers (`versioning`), and the docs rebuilt from a run (`results_docs`).

The science (`kstarlab.kstar`, `latents`, `models`, `perturb`, `geometry`, `pruning`) never
imports this package; output paths live in `kstarlab.paths` and shared names in
`kstarlab.names`, both torch-free and importable by every layer.
"""
