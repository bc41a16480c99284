"""The geometry study through Snakemake: per-model jobs, the summary, and where the
corrupted benchmarks are extracted (inside the geometry job, or as extract jobs)."""

from __future__ import annotations

import pandas as pd
import yaml

from system import SMOKE, check_code_sets, job_modules, planned_jobs, snakemake

GEOMETRY = {
    "enabled": True,
    "models": ["mlp"],
    "layer": "avgpool",
    "corruptions": ["contrast", "gaussian_noise"],
    "severities": [2],
    "sparsities": [0.5, 0.9],
}


def _config(tmp_path, **geometry):
    cfg = yaml.safe_load(SMOKE.read_text())
    cfg["geometry"] = {**GEOMETRY, **geometry}
    path = tmp_path / "geometry.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_geometry_study_runs_with_corruptions_inside_its_job(tmp_path):
    config = _config(tmp_path)
    targets = ["results/geometry/correlations.csv", "results/geometry/poster_tables.md"]
    snakemake("--cores", "2", *targets, workdir=tmp_path, configfile=config, timeout=900)
    corr = pd.read_csv(tmp_path / "results/geometry/correlations.csv")
    assert set(corr["model"]) == {"mlp"}
    assert sorted(zip(corr["robustness"], corr["feature"], strict=True)) == sorted(
        (r, f) for r in ("corruption", "pruning") for f in ("angle", "length", "margin")
    )
    assert (corr["n"] == 540).all()
    assert "rc-angle" in (tmp_path / "results/geometry/poster_tables.md").read_text()
    for name in ("embedding", "corruption_similarity", "margins"):
        assert (tmp_path / f"results/geometry/figures/{name}.pdf").stat().st_size > 0
    # the corrupted benchmarks were extracted inside the geometry job: no latents files
    assert sorted(p.name for p in (tmp_path / "results/latents/mlp").iterdir()) == ["clean.h5"]
    samples = pd.read_csv(tmp_path / "results/geometry/mlp/samples.csv")
    assert set(samples["corruption_robustness"]) <= {0.0, 0.5, 1.0}
    records = job_modules(tmp_path, config, *targets)
    assert {"geometry_model", "geometry_summary"} <= set(records)
    check_code_sets(records)  # each job loaded only modules of its rule's code set


def test_corruption_jobs_plan_one_extraction_per_benchmark(tmp_path):
    config = _config(tmp_path, corruption_jobs=True)
    out = snakemake("-n", "results/geometry/correlations.csv", workdir=tmp_path, configfile=config)
    extracts = sorted(o for rule, o in planned_jobs(out.stdout) if rule == "extract")
    assert extracts == [
        f"results/latents/mlp/{t}.h5"
        for t in ("clean", "corrupt-contrast-2", "corrupt-gaussian_noise-2")
    ]
