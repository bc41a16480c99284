"""Partial reruns: after a completed smoke run, a config or library change plans exactly
the affected jobs (issue: rerun on config change), and a library change reruns exactly the
rules whose derived code set holds the module (kstarlab.workflow.codesets)."""

from __future__ import annotations

import shutil
from collections import Counter
from types import SimpleNamespace

import pytest
import yaml

from kstarlab.workflow.codesets import script_code
from system import (
    REPO,
    SMOKE,
    check_code_sets,
    job_modules,
    planned_jobs,
    planned_reasons,
    rule_scripts,
    snakemake,
)

# What a new k* cell reruns besides itself: the summaries, the studies' tables and the
# explorer page, which reads every k* cell.
AGGREGATES = {
    "kstar_summary",
    "study_tables",
    "study_distributions",
    "study_table_html",
    "explorer",
}


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


# The smoke run extended by the jobs it lacks: the dataset card and a trend study (over the
# noise level the smoke study has; the explorer page lists it). So every rule has run here but
# weights_card (test_workflow.py) and the geometry rules (test_workflow_geometry.py), which
# check their jobs' modules the same way.
TREND = {
    "models": ["mlp"],
    "layers": ["logit"],
    "transforms": ["clean", "noise-0.1"],
    "metrics": ["euclidean"],
    "classes": ["0", "1", "8"],
    "trend": True,
}
NEW_JOBS = {
    "dataset_card": 1,
    "study_tables": 1,
    "study_distributions": 1,
    "study_trend": 1,
    "study_table_html": 1,
    "explorer": 1,
}


@pytest.fixture(scope="module")
def extended_run(smoke_run, tmp_path_factory):
    work = tmp_path_factory.mktemp("extended") / "run"
    shutil.copytree(smoke_run, work, symlinks=True)
    cfg = yaml.safe_load(SMOKE.read_text())
    cfg["studies"]["trend"] = TREND
    config = work.parent / "extended.yaml"
    config.write_text(yaml.safe_dump(cfg))
    targets = ["all", "results/data/dataset.json"]
    planned = planned_jobs(snakemake("-n", *targets, workdir=work, configfile=config).stdout)
    assert rules(planned) == NEW_JOBS  # the smoke run's own jobs are done
    snakemake("--cores", "2", *targets, workdir=work, configfile=config, timeout=1200)
    records = job_modules(work, config, *targets)
    return SimpleNamespace(work=work, config=config, records=records)


def test_every_job_loaded_only_modules_of_its_code_set(extended_run):
    """What each job of the run really imported (its log's record of sys.modules at its
    end) is inside the code set derived for its rule: no dynamic import escapes the graph."""
    assert set(extended_run.records) == set(rule_scripts()) - {
        "weights_card",
        "geometry_model",
        "geometry_summary",
    }
    check_code_sets(extended_run.records)
    kstar = extended_run.records["kstar"]
    assert len(kstar) == 12 and all("kstarlab.kstar.engine" in loaded for _, loaded in kstar)


def copy_repo(dest):
    shutil.copytree(
        REPO, dest, ignore=shutil.ignore_patterns(".venv", "results", ".snakemake", ".git")
    )
    return dest


@pytest.mark.parametrize(
    ("module", "holders"),
    [
        # the k* engine, and the module holding the k* job (Table XXI's k* job calls it)
        # (the engine also in Table XXI's table and figure: their module offers it in-process)
        (
            "kstar/engine.py",
            {"kstar", "embedding_kstar", "embedding_tables", "embedding_distributions"},
        ),
        ("workflow/jobs/kstar_cells.py", {"kstar", "embedding_kstar"}),
        ("workflow/plan.py", {"study_trend"}),  # the trend computation (trend_values)
    ],
)
def test_code_change_reruns_exactly_the_rules_holding_it(extended_run, tmp_path, module, holders):
    """A copy of the repository with one module changed in code (not only in comments):
    the jobs of the rules whose code set holds it rerun (their `code` param changed), what
    reads their outputs follows, and nothing else; never training or extraction."""
    copy = copy_repo(tmp_path / "repo")
    path = copy / "src/kstarlab" / module
    name = "kstarlab." + module.removesuffix(".py").replace("/", ".")
    records = extended_run.records
    scripts = rule_scripts()
    derived = {
        rule
        for rule in records
        if name in script_code(REPO / "workflow/rules" / scripts[rule][0]).modules
    }
    assert derived == holders

    def dry_run():
        out = snakemake(
            "-n",
            workdir=extended_run.work,
            configfile=extended_run.config,
            env={"PYTHONPATH": str(copy / "src")},
            snakefile=copy / "Snakefile",
        )
        return planned_reasons(out.stdout)

    path.write_text(path.read_text() + "\n# a comment changes no code\n")
    assert dry_run() == []
    path.write_text(path.read_text() + "\nUNUSED_CONSTANT = 1\n")
    jobs = dry_run()
    # every job of a holding rule reruns: for its code (or, when what it reads is rerun
    # too, as Table XXI's table reads the embedding k* files, for its inputs: Snakemake
    # names one reason)
    rerun = Counter(r for r, _, _ in jobs if r in holders)
    assert rerun == {rule: len(records[rule]) for rule in holders}, jobs
    for rule, output, why in jobs:
        if rule in holders:
            assert "Params have changed since last execution" in why or why.startswith(
                "Input files updated by another job:"
            ), (rule, output, why)
    assert any("Params have changed since last execution" in why for _, _, why in jobs)
    for rule, output, why in jobs:
        if rule not in holders:
            assert why.startswith("Input files updated by another job:"), (rule, output, why)
            assert ";" not in why, (rule, output, why)
    assert not {"train_model", "extract", "embedding_demo"} & {r for r, _, _ in jobs}


def test_canonical_sorts_every_mapping_and_keeps_sequences():
    from kstarlab.workflow.plan import canonical

    value = {"b": {"y": 1, "x": [{"q": 2, "p": 3}]}, "a": (2, 1)}
    out = canonical(value)
    assert list(out) == ["a", "b"] and list(out["b"]) == ["x", "y"]
    assert list(out["b"]["x"][0]) == ["p", "q"] and out["a"] == (2, 1)
    assert out == value  # the same content
    assert repr(canonical(reversed_keys(value))) == repr(out)
