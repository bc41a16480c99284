"""The Snakemake workflow end to end on config/smoke.yaml, and its static checks."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from system import (
    REPO,
    SMOKE,
    check_code_sets,
    chromium,
    job_modules,
    planned_jobs,
    run,
    snakemake,
    tool,
)


def smoke_grid():
    study = yaml.safe_load(SMOKE.read_text())["studies"]["smoke"]
    return {
        (m, layer, t, metric)
        for m in study["models"]
        for layer in study["layers"]
        for t in study["transforms"]
        for metric in study["metrics"]
    }


def test_summary_rows_match_the_grid(smoke_run):
    summary = pd.read_csv(smoke_run / "results/kstar/summary.csv", dtype={"class": str})
    assert list(summary.columns) == [
        "model",
        "layer",
        "transform",
        "metric",
        "class",
        "n",
        "mean",
        "std",
        "skew",
        "pattern",
        "accuracy",
        "skew_lo",
        "skew_hi",
        "pattern_uncertain",
    ]
    cells = set(map(tuple, summary[["model", "layer", "transform", "metric"]].to_numpy()))
    assert cells == smoke_grid()
    assert len(summary) == 10 * len(cells)  # digits: ten classes per cell
    assert (summary.groupby(["model", "layer", "transform", "metric"])["n"].sum() == 540).all()
    assert summary["pattern"].isin(["Fractured", "Overlapped", "Clustered"]).all()
    defined = summary["skew"].notna()  # bootstrap intervals of γ (seeded, test_bootstrap.py)
    assert (summary.loc[defined, "skew_lo"] <= summary.loc[defined, "skew_hi"]).all()
    assert summary["pattern_uncertain"].dtype == bool
    # per-sample files exist for every cell and agree with the per-class means
    for m, layer, t, metric in cells:
        samples = pd.read_csv(smoke_run / f"results/kstar/{m}/{layer}/{t}/{metric}.csv")
        means = samples.groupby("label")["kstar"].mean().to_numpy()
        rows = summary[
            (summary["model"] == m)
            & (summary["layer"] == layer)
            & (summary["transform"] == t)
            & (summary["metric"] == metric)
        ]
        assert means == pytest.approx(rows["mean"].to_numpy(), rel=1e-12)


def test_tables_hold_the_summary_numbers(smoke_run):
    summary = pd.read_csv(smoke_run / "results/kstar/summary.csv", dtype={"class": str})
    table = pd.read_csv(smoke_run / "results/tables/smoke.csv", header=[0, 1], index_col=[0, 1, 2])
    study = yaml.safe_load(SMOKE.read_text())["studies"]["smoke"]
    assert len(table) == len(smoke_grid())
    for (layer, transform, metric), row in table.iterrows():
        for cls in study["classes"]:
            ref = summary[
                (summary["layer"] == layer)
                & (summary["transform"] == transform)
                & (summary["metric"] == metric)
                & (summary["class"] == cls)
            ].iloc[0]
            assert row[(cls, "μ")] == pytest.approx(ref["mean"], rel=1e-12)
            assert row[(cls, "γ")] == pytest.approx(ref["skew"], rel=1e-12, nan_ok=True)
            assert row[(cls, "Acc")] == pytest.approx(100 * ref["accuracy"], rel=1e-12)
            assert row[(cls, "γ lo")] == pytest.approx(ref["skew_lo"], rel=1e-12, nan_ok=True)
            assert row[(cls, "γ hi")] == pytest.approx(ref["skew_hi"], rel=1e-12, nan_ok=True)
            assert row[(cls, "Pat?")] == ref["pattern_uncertain"]
    markdown = (smoke_run / "results/tables/smoke.md").read_text()
    first = summary[
        (summary["layer"] == "avgpool")
        & (summary["transform"] == "clean")
        & (summary["metric"] == "euclidean")
        & (summary["class"] == "0")
    ].iloc[0]
    assert f"| avgpool | clean | euclidean | {first['mean']:.2f} |" in markdown


def test_figures_and_report(smoke_run, tmp_path):
    results = smoke_run / "results"
    assert (results / "figures/smoke/distributions.png").stat().st_size > 10_000
    report = results / "report.html"
    html = report.read_text(errors="replace")
    for needle in ("distributions.png", "smoke.html", "summary.csv", "robustness_lottery.png"):
        assert needle in html, f"{needle} missing from the report"
    shot = tmp_path / "report.png"
    chromium(
        "--window-size=1400,1000",
        "--virtual-time-budget=15000",
        f"--screenshot={shot}",
        report.as_uri(),
        profile=tmp_path / "chromium",
    )
    assert shot.stat().st_size > 20_000
    dom = chromium(
        "--virtual-time-budget=15000", "--dump-dom", report.as_uri(), profile=tmp_path / "chromium2"
    ).stdout
    for category in ("smoke", "Summary", "Workflow", "Pruning"):
        assert category in dom, f"the rendered report does not show {category!r}"


def test_pruning_study_outputs(smoke_run):
    """The smoke config's pruning study: every table and figure, one row per model, the
    declared sparsity measured, and a caption stating the approaches and sparsities."""
    from kstarlab import paths

    outputs = paths.pruning_summary("mlp")
    for path in outputs.values():
        assert (smoke_run / path).stat().st_size > 0, path
    models = pd.read_csv(smoke_run / outputs["models"])
    assert list(models["entity"]) == ["dense", "finetune-0.8", "mpt-0.8"]
    pruned = models[models["approach"] != "dense"]
    assert pruned["measured_sparsity"].to_numpy() == pytest.approx(0.8, abs=1e-3)
    assert models["clean_accuracy"].between(0, 1).all()
    benchmarks = pd.read_csv(smoke_run / outputs["benchmarks"])
    assert set(benchmarks["benchmark"]) == {"clean", "corrupt-fog-2"}
    html = (smoke_run / "results/report.html").read_text(errors="replace")
    assert "approaches finetune, mpt at sparsities 0.8" in html


def test_rerun_with_nothing_changed_plans_nothing(smoke_run):
    out = snakemake("-n", workdir=smoke_run, configfile=SMOKE)
    assert "Nothing to be done" in out.stdout + out.stderr


def test_lint_and_format():
    lint = run([tool("snakemake"), "--lint", "-s", str(REPO / "Snakefile")], cwd=REPO)
    assert "Congratulations" in lint.stdout + lint.stderr
    run([tool("snakefmt"), "--check", "Snakefile", "workflow/rules"], cwd=REPO)
    python = ["src", "tests", "benchmarks", "workflow/scripts"]
    run([tool("ruff"), "check", *python], cwd=REPO)
    run([tool("ruff"), "format", "--check", *python], cwd=REPO)


def _placeholder_paper_config(tmp_path: Path) -> Path:
    """config/paper.yaml with every data, weight and embedding path at an empty placeholder."""
    cfg = yaml.safe_load((REPO / "config/paper.yaml").read_text())

    def place(path: str, folder: bool = False) -> str:
        target = tmp_path / "placeholders" / path.lstrip("/")
        if folder:
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch()
        return str(target)

    cfg["dataset"]["root"] = place(cfg["dataset"]["root"], folder=True)
    for dataset in cfg.get("datasets", {}).values():
        dataset["root"] = place(dataset["root"], folder=True)
    for entry in cfg["models"].values():
        if "/" in entry.get("weights", ""):
            entry["weights"] = place(entry["weights"])
    for source in cfg["embeddings"]["sources"]:  # Table XXI's embedding files
        if "file" in source:
            source["file"] = place(source["file"])
    for study in cfg["pruning"]["studies"].values():  # pruned checkpoints trained elsewhere
        for checkpoint in study.get("checkpoints", []):
            checkpoint["path"] = place(checkpoint["path"])
    style = cfg["style"]
    cfg["style"] = {
        "encoder": place(style["encoder"]),
        "decoder": place(style["decoder"]),
        "styles": place(style["styles"], folder=True),
    }
    out = tmp_path / "paper.yaml"
    out.write_text(yaml.safe_dump(cfg))
    return out


def _job_count(output: str, rule: str = "total") -> int:
    """The count of ``rule`` (``total``: all jobs) in a ``--quiet rules`` job table."""
    match = re.search(rf"^{rule}\s+(\d+)$", output, flags=re.M)
    if rule != "total" and match is None:
        return 0
    assert match, output[-2000:]
    return int(match.group(1))


def _pretrained_in_use(cfg: dict) -> set[str]:
    """Models an enabled study (or the geometry, or a pruning study as its dense model) uses
    whose weights are a file or an enum."""
    used = {m for s in cfg["studies"].values() if s.get("enabled", True) for m in s["models"]}
    if (cfg.get("geometry") or {}).get("enabled"):
        used |= set(cfg["geometry"]["models"])
    if (cfg.get("pruning") or {}).get("enabled"):
        used |= {s["dense"] for s in cfg["pruning"]["studies"].values()}
    models = cfg["models"]
    return {m for m in used if "regime" not in models[m] and models[m].get("weights")}


@pytest.mark.parametrize("which", ["config", "paper"])
def test_dry_run_builds_the_dag(which, tmp_path, capsys):
    config = (
        REPO / "config/config.yaml" if which == "config" else _placeholder_paper_config(tmp_path)
    )
    out = snakemake("-n", "--quiet", "rules", workdir=tmp_path, configfile=config)
    jobs = _job_count(out.stdout)
    with capsys.disabled():
        print(f"\n{which}: {jobs} jobs planned")
    assert jobs > (700 if which == "paper" else 100)
    pretrained = _pretrained_in_use(yaml.safe_load(config.read_text()))
    # paper: ten ImageNet models, each also on 16-class-ImageNet (a model entry per dataset),
    # and the pruning study's dense CIFAR-10 ResNet-18
    assert len(pretrained) == (21 if which == "paper" else 0)
    assert _job_count(out.stdout, "weights_card") == len(pretrained)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _job_block(output: str, rule: str, output_file: str) -> str:
    """The ``snakemake -n`` listing of the job of ``rule`` that makes ``output_file``."""
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", output):
        if block.startswith(f"rule {rule}:") and f"output: {output_file}" in block:
            return block
    raise AssertionError(f"no {rule} job for {output_file} in\n{output[-3000:]}")


def _job_inputs(block: str) -> list[str]:
    """The input files of a job in a ``snakemake -n`` listing."""
    line = re.search(r"^\s+input: (.*)$", block, flags=re.M)
    return line.group(1).split(", ") if line else []


def test_dry_run_every_digits_job_reads_the_data_rules_file(tmp_path):
    """The digits and their split are written once per split seed (rule digits_data) and
    are an input of every training, extraction and geometry job over the digits."""
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    cfg["dataset"]["split_seed"] = 5
    config = tmp_path / "seed5.yaml"
    config.write_text(yaml.safe_dump(cfg))
    out = snakemake("-n", workdir=tmp_path, configfile=config).stdout
    planned = planned_jobs(out)
    assert [o for r, o in planned if r == "digits_data"] == ["results/data/digits-seed5.npz"]
    readers = [(r, o) for r, o in planned if r in ("train_model", "extract", "geometry_model")]
    assert {r for r, _ in readers} == {"train_model", "extract", "geometry_model"}
    for rule, output in readers:
        assert "results/data/digits-seed5.npz" in _job_inputs(_job_block(out, rule, output))


def test_dry_run_replaced_weights_file_reruns_its_card_and_downstream(tmp_path):
    import os

    import torch
    import torchvision

    weights = tmp_path / "weights" / "r18.pt"
    weights.parent.mkdir()

    def save(seed: int) -> None:
        torch.manual_seed(seed)  # a random-init ResNet-18 with a 10-class head (digits)
        torch.save(torchvision.models.resnet18(num_classes=10).state_dict(), weights)

    save(0)
    cfg = {
        "dataset": {"name": "digits"},
        "models": {"r18": {"arch": "resnet18", "weights": str(weights)}},
        "studies": {
            "s": {
                "models": ["r18"],
                "layers": ["avgpool"],
                "transforms": ["clean"],
                "metrics": ["euclidean"],
                "classes": ["0", "1"],
            }
        },
    }
    config = tmp_path / "r18.yaml"
    config.write_text(yaml.safe_dump(cfg))
    card = "results/models/r18.weights.json"
    latents = "results/latents/r18/clean.h5"
    snakemake("--cores", "1", card, workdir=tmp_path, configfile=config)
    assert json.loads((tmp_path / card).read_text())["sha256"] == sha256(weights)
    records = job_modules(tmp_path, config, card)
    assert list(records) == ["weights_card"]
    check_code_sets(records)  # the job loaded only modules of its rule's code set

    before = snakemake("-n", workdir=tmp_path, configfile=config).stdout
    assert ("weights_card", card) not in planned_jobs(before)
    assert card in _job_inputs(_job_block(before, "extract", latents))

    save(1)  # other bytes at the same path, and a modification time after the card's
    stamp = (tmp_path / card).stat().st_mtime + 10
    os.utime(weights, (stamp, stamp))
    after = snakemake("-n", workdir=tmp_path, configfile=config).stdout
    planned = planned_jobs(after)
    assert ("weights_card", card) in planned
    assert f"Updated input files: {weights}" in _job_block(after, "weights_card", card)
    # the card is among the inputs another job updates (with the digits file, not made here)
    reason = re.search(
        r"Input files updated by another job: (.*)$", _job_block(after, "extract", latents), re.M
    )
    assert reason and card in reason.group(1).split(", "), _job_block(after, "extract", latents)
    assert {"extract", "kstar", "kstar_summary", "study_tables"} <= {r for r, _ in planned}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda c: c["embeddings"]["sources"].append(
                {"name": "x", "domain": "T", "model": "M", "file": "/no/such/x.npz"}
            ),
            "embeddings.sources.x.file: file not found: /no/such/x.npz",
        ),
        (
            lambda c: c["studies"]["smoke"]["models"].append("nosuch"),
            "model 'nosuch' is not defined",
        ),
        (lambda c: c["studies"]["smoke"]["transforms"].append("noise-abc"), "noise-abc"),
        (
            lambda c: c["studies"]["smoke"]["metrics"].append("manhattan"),
            "unknown metric 'manhattan'",
        ),
        (
            lambda c: c["models"].update(mlp={"arch": "resnet50", "weights": "/no/such.pt"}),
            "file not found: /no/such.pt",
        ),
        (lambda c: c["studies"]["smoke"].update(layers="avgpool"), "studies.smoke.layers"),
        (lambda c: c["kstar"].update(dtype="float16"), "float16"),
        (
            lambda c: c["studies"]["smoke"]["layers"].append("stage4.block3.conv3"),
            "studies.smoke.layers: unknown layer 'stage4.block3.conv3' for arch 'mlp'",
        ),
        (
            lambda c: c["models"].update(mlp={"arch": "resnet_51", "weights": "/no/such.pt"}),
            "models.mlp.arch: unknown architecture 'resnet_51'",
        ),
        (
            lambda c: c["dataset"].update(name="imagefolder", root="/no/such/imagenet"),
            "dataset.root: folder not found: /no/such/imagenet",
        ),
        (
            lambda c: c["models"]["mlp"].update(dataset="in16"),
            "models.mlp.dataset: unknown dataset 'in16' (defined under 'datasets': none)",
        ),
        (
            lambda c: (
                c.update(datasets={"in16": {"name": "imagefolder", "root": "/no/such/16"}}),
                c["models"]["mlp"].update(dataset="in16"),
            ),
            "datasets.in16.root: folder not found: /no/such/16",
        ),
        (
            lambda c: (
                c.update(
                    datasets={
                        "in16": {"name": "imagefolder", "root": "/x", "class_map": "imagenet16"}
                    },
                    geometry={"enabled": True, "models": ["mlp"], "corruptions": ["fog"]},
                ),
                c["models"]["mlp"].update(dataset="in16"),
            ),
            "config: geometry.models: mlp is evaluated on datasets.in16 with class map imagenet16: "
            "geometric features need one classifier row W_y per label",
        ),
        (
            lambda c: c["pruning"]["studies"]["mlp"].update(approaches=["finetune", "magic"]),
            "config: pruning.studies.mlp.approaches: unknown approach 'magic'; available: oneshot",
        ),
        (
            lambda c: c["pruning"]["studies"]["mlp"].update(sparsities=[1.5]),
            "config: pruning.studies.mlp.sparsities: a sparsity must lie in [0, 1), got 1.5",
        ),
    ],
    ids=[
        "missing-embedding",
        "unknown-model",
        "bad-transform",
        "unknown-metric",
        "missing-weights",
        "schema-type",
        "schema-enum",
        "unknown-layer",
        "unknown-arch",
        "missing-data",
        "unknown-dataset",
        "missing-named-data",
        "geometry-class-map",
        "pruning-approach",
        "pruning-sparsity",
    ],
)
def test_bad_config_stops_before_any_job(edit, message, tmp_path):
    cfg = yaml.safe_load(SMOKE.read_text())
    cfg.setdefault("kstar", {})
    edit(cfg)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = snakemake("-n", workdir=tmp_path, configfile=path, check=False)
    text = out.stdout + out.stderr
    assert out.returncode == 2, text
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0]
    assert "Traceback" not in text
    assert not (tmp_path / "results").exists()


def test_conda_env_pins_match_pyproject():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    # the jobs import plotly (the explorer page); playwright only drives a browser (docs, tests)
    page = [d for d in extras["explorer"] if d.startswith("plotly")]
    deps = project["dependencies"] + extras["plots"] + extras["perturb"] + page
    env = yaml.safe_load((REPO / "envs/kstarlab.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert sorted(p for p in pip if not p.startswith("-e")) == sorted(deps)


def test_scripts_are_thin():
    for script in (REPO / "workflow/scripts").glob("*.py"):
        code = [
            ln
            for ln in script.read_text().splitlines()
            if ln.strip() and not ln.startswith(('"""', "#"))
        ]
        assert len(code) <= 20, f"{script.name} holds logic; move it into kstarlab.workflow.jobs"
        # each script imports only its family of jobs (and the runtime), so its rule's code
        # set (kstarlab.workflow.codesets) holds no other family's code
        imports = re.findall(r"^from (kstarlab\S*) import", script.read_text(), flags=re.M)
        assert imports and all(m.startswith("kstarlab.workflow.jobs.") for m in imports), imports
    assert shutil.which(tool("snakemake"))


def test_workflow_start_up_imports_neither_torch_nor_scipy():
    """Every Snakemake start (and each cluster job's) imports kstarlab.workflow.plan: it must
    not pay for torch or scipy.stats, which ``import kstarlab`` loads only on first use."""
    code = (
        "import sys, kstarlab, kstarlab.workflow.plan;"
        "print(sorted(m for m in ('torch', 'scipy.stats') if m in sys.modules));"
        "kstarlab.kstar_values; print('torch' in sys.modules)"
    )
    out = run([sys.executable, "-c", code]).stdout.split("\n")
    assert out[:2] == ["[]", "True"]


def test_architectures_row_is_the_layer_studys_logit_row(smoke_run):
    """The paper's own consistency: Table I's ResNet-50 row is Table III's "Logit Layer" row
    (and Table II's counts are Table IV's logit counts). In the smoke run the architectures
    study (logit by default) and the layer study must agree per class, byte for byte."""
    tables = smoke_run / "results/tables"

    def rows(name):
        """The header lines and each row's text after its index, as the job wrote them."""
        lines = (tables / f"{name}.csv").read_text().splitlines()
        # pandas writes a two-level header, then one line naming the index
        start = next(
            i for i, line in enumerate(lines) if line.split(",", 1)[0] in ("model", "layer")
        )
        header = [line.split(",", 1)[1] for line in lines[:start]]
        return header, {line.split(",", 1)[0]: line.split(",", 1)[1] for line in lines[start + 1 :]}

    arch_header, arch = rows("architectures")
    layer_header, layers = rows("layers")
    assert arch_header == layer_header
    assert set(layers) == {"avgpool", "logit"}
    assert arch["mlp"] == layers["logit"]
    assert arch["mlp"] != layers["avgpool"]
    _, arch_patterns = rows("architectures.patterns")
    _, layer_patterns = rows("layers.patterns")
    assert arch_patterns["mlp"] == layer_patterns["logit"]


def test_embedding_table_of_the_smoke_run(smoke_run):
    """Table XXI's demonstration: the row holds the pattern averages of the iris k* job's
    per-class table, and the report shows the table and the figure."""
    from kstarlab import pattern_averages

    results = smoke_run / "results/embeddings"
    table = pd.read_csv(results / "table.csv", header=[0, 1], index_col=[0, 1])
    assert len(table) == 1
    (task, architecture), row = next(table.iterrows())
    assert task.startswith("Demonstration: Iris") and architecture.startswith("MLP")
    classes = pd.read_csv(results / "kstar/iris-mlp.classes.csv")
    assert classes["n"].tolist() == [15, 15, 15]  # the held-out 30% of iris
    averages = pattern_averages(classes).set_index("pattern")
    assert row[("All classes", "N")] == 3
    assert row[("All classes", "μ")] == pytest.approx(averages.loc["All", "mean"], rel=1e-12)
    assert row[("All classes", "Acc")] == pytest.approx(100 * averages.loc["All", "accuracy"])
    for pattern, letter in (("Fractured", "A"), ("Overlapped", "B"), ("Clustered", "C")):
        assert row[(f"{pattern} ({letter})", "N")] == averages.loc[pattern, "n_classes"]
    assert (results / "distributions.png").stat().st_size > 10_000
    html = (smoke_run / "results/report.html").read_text(errors="replace")
    assert "Other domains" in html and "distributions.png" in html
