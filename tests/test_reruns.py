"""Partial reruns: after a completed smoke run, a config or library change plans exactly
the affected jobs (issue: rerun on config change)."""

from __future__ import annotations

import shutil
from collections import Counter

import yaml

from system import REPO, SMOKE, planned_jobs, snakemake

AGGREGATES = {"kstar_summary", "study_tables", "study_distributions", "study_table_html"}


def plan(work, tmp_path, edit=None, env=None):
    cfg = yaml.safe_load(SMOKE.read_text())
    if edit:
        edit(cfg)
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = snakemake("-n", workdir=work, configfile=path, env=env)
    return planned_jobs(out.stdout)


def rules(jobs):
    return Counter(rule for rule, _ in jobs)


def test_nothing_changed(smoke_run, tmp_path):
    assert plan(smoke_run, tmp_path) == []


def reversed_keys(value):
    """``value`` with the keys of every mapping in reverse order."""
    if isinstance(value, dict):
        return {key: reversed_keys(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reversed_keys(item) for item in value]
    return value


def test_keys_reordered(smoke_run, tmp_path):
    """The same config with every mapping's keys in another order (as an editor or a tool
    re-dumping YAML may write it) plans nothing: params are compared as text."""
    cfg = reversed_keys(yaml.safe_load(SMOKE.read_text()))
    path = tmp_path / "reordered.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    assert list(cfg["pgd"]) != list(yaml.safe_load(SMOKE.read_text())["pgd"])
    assert planned_jobs(snakemake("-n", workdir=smoke_run, configfile=path).stdout) == []


def test_noise_level_added(smoke_run, tmp_path):
    jobs = plan(
        smoke_run, tmp_path, lambda c: c["studies"]["smoke"]["transforms"].append("noise-0.2")
    )
    assert [o for r, o in jobs if r == "extract"] == ["results/latents/mlp/noise-0.2.h5"]
    kstar = [o for r, o in jobs if r == "kstar"]
    assert len(kstar) == 4 and all("/noise-0.2/" in o for o in kstar)  # 2 layers x 2 metrics
    assert set(rules(jobs)) == {"extract", "kstar", *AGGREGATES}


def test_metric_added(smoke_run, tmp_path):
    jobs = plan(smoke_run, tmp_path, lambda c: c["studies"]["smoke"]["metrics"].append("chebyshev"))
    kstar = [o for r, o in jobs if r == "kstar"]
    assert len(kstar) == 6 and all(o.endswith("/chebyshev.csv") for o in kstar)
    assert set(rules(jobs)) == {"kstar", *AGGREGATES}  # no extraction, no training


def test_pgd_steps_changed(smoke_run, tmp_path):
    jobs = plan(smoke_run, tmp_path, lambda c: c["pgd"].update(steps=3))
    assert [o for r, o in jobs if r == "extract"] == ["results/latents/mlp/pgd-2.h5"]
    kstar = [o for r, o in jobs if r == "kstar"]
    assert len(kstar) == 4 and all("/pgd-2/" in o for o in kstar)
    assert set(rules(jobs)) == {"extract", "kstar", *AGGREGATES}


def test_unread_keys_changed(smoke_run, tmp_path):
    def edit(cfg):
        cfg["studies"]["unused"]["caption"] = "a new caption"
        cfg["studies"]["unused"]["metrics"] = ["euclidean", "cosine"]
        cfg["x-note"] = "free text"

    assert plan(smoke_run, tmp_path, edit) == []


def test_library_change_reruns_its_stage_only(smoke_run, tmp_path):
    """A copy of the repository whose k* engine changed in code (not only in comments)."""
    copy = tmp_path / "repo"
    shutil.copytree(
        REPO, copy, ignore=shutil.ignore_patterns(".venv", "results", ".snakemake", ".git")
    )
    engine = copy / "src/kstarlab/kstar.py"
    env = {"PYTHONPATH": str(copy / "src")}
    engine.write_text(engine.read_text() + "\n# a comment changes no code\n")
    assert (
        planned_jobs(
            snakemake(
                "-n", workdir=smoke_run, configfile=SMOKE, env=env, snakefile=copy / "Snakefile"
            ).stdout
        )
        == []
    )
    engine.write_text(engine.read_text() + "\nUNUSED_CONSTANT = 1\n")
    jobs = planned_jobs(
        snakemake(
            "-n", workdir=smoke_run, configfile=SMOKE, env=env, snakefile=copy / "Snakefile"
        ).stdout
    )
    assert rules(jobs)["kstar"] == 12
    # the Table XXI embeddings run the k* engine too (not the demonstration's training)
    embeddings = {"embedding_kstar", "embedding_tables", "embedding_distributions"}
    assert set(rules(jobs)) == {"kstar", *AGGREGATES, *embeddings}


def test_canonical_sorts_every_mapping_and_keeps_sequences():
    from kstarlab.pipeline import canonical

    value = {"b": {"y": 1, "x": [{"q": 2, "p": 3}]}, "a": (2, 1)}
    out = canonical(value)
    assert list(out) == ["a", "b"] and list(out["b"]) == ["x", "y"]
    assert list(out["b"]["x"][0]) == ["p", "q"] and out["a"] == (2, 1)
    assert out == value  # the same content
    assert repr(canonical(reversed_keys(value))) == repr(out)
