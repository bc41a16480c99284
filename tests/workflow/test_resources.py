"""The rules' default threads and resources: scaled from the dataset size, GPU on CUDA."""

from __future__ import annotations

import re

import pytest
import yaml

from kstarlab.workflow.plan import count_images, dataset_samples, job_resources
from system import REPO, SMOKE, snakemake


def test_digits_sizes_match_the_split():
    assert dataset_samples({"name": "digits", "split": "test"}) == 540
    assert dataset_samples({"name": "digits", "split": "test"}, split="train") == 1257
    assert dataset_samples({"name": "digits", "split": "all"}) == 1797


def test_imagefolder_is_counted_by_file_names(tmp_path):
    for cls, n in (("a", 3), ("b", 2)):
        (tmp_path / cls).mkdir()
        for i in range(n):
            (tmp_path / cls / f"{i}.JPEG").touch()
        (tmp_path / cls / "notes.txt").touch()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.png").touch()
    assert count_images(str(tmp_path)) == 5
    assert dataset_samples({"name": "imagefolder", "root": str(tmp_path)}) == 5


@pytest.mark.parametrize("kind", ["train", "extract", "kstar", "geometry", "aggregate"])
def test_resources_grow_with_the_dataset(kind):
    small = job_resources(kind, 540)
    large = job_resources(kind, 50_000)
    assert large["mem_mb"] > small["mem_mb"] >= 1000
    assert large["runtime"] > small["runtime"] >= 10
    assert small["threads"] == large["threads"] >= 1
    assert small["gpu"] == large["gpu"] == 0


def test_gpu_for_training_and_extraction_on_cuda_only():
    for kind in ("train", "extract"):
        assert job_resources(kind, 540, cuda=True)["gpu"] == 1
        assert job_resources(kind, 540, cuda=False)["gpu"] == 0
    for kind in ("kstar", "geometry", "projections", "aggregate"):
        assert job_resources(kind, 540, cuda=True)["gpu"] == 0


def test_pgd_and_retries_scale_the_request():
    clean = job_resources("extract", 50_000, transform="clean")
    pgd = job_resources("extract", 50_000, transform="pgd-8", pgd_steps=10)
    assert pgd["runtime"] > 10 * clean["runtime"] / 2
    second = job_resources("kstar", 50_000, attempt=2)
    first = job_resources("kstar", 50_000)
    assert second["mem_mb"] == 2 * first["mem_mb"]
    assert second["runtime"] == 2 * first["runtime"]


def _resources(dry_run: str) -> dict[str, str]:
    """rule -> its first printed ``resources:`` line in a ``snakemake -n`` listing."""
    out = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", dry_run):
        head = re.match(r"(?:local)?rule (\w+):", block.strip())
        res = re.search(r"^\s+resources: (.*)$", block, flags=re.M)
        if head and res and head.group(1) != "all":
            out.setdefault(head.group(1), res.group(1))
    return out


def test_every_rule_declares_resources_and_cuda_requests_gpus(tmp_path):
    cfg = yaml.safe_load(SMOKE.read_text())
    cfg["device"] = "cuda"
    path = tmp_path / "cuda.yaml"
    path.write_text(yaml.safe_dump(cfg))
    res = _resources(snakemake("-n", workdir=tmp_path, configfile=path).stdout)
    assert {"train_model", "extract", "kstar", "kstar_summary", "study_tables"} <= set(res)
    for rule, line in res.items():
        assert "mem_mb=" in line and "runtime=" in line, (rule, line)
        assert ("gpu=1" in line) == (rule in ("train_model", "extract")), (rule, line)
    for path in (REPO / "workflow/rules").glob("*.smk"):
        for block in path.read_text().split("\nrule ")[1:]:
            if "    script:" in block or "    shell:" in block:  # target-only rules run nothing
                assert "    threads: threads_of(" in block, f"{path.name}: rule {block[:40]}"
                assert "        runtime=resource(" in block, f"{path.name}: rule {block[:40]}"


def test_a_model_is_evaluated_on_its_own_dataset():
    from kstarlab.errors import InputError
    from kstarlab.workflow.plan import dataset_of

    main = {"name": "digits", "split": "test"}
    other = {"name": "imagefolder", "root": "/data/16"}
    config = {
        "dataset": main,
        "datasets": {"in16": other},
        "models": {"a": {"arch": "mlp"}, "b": {"arch": "mlp", "dataset": "in16"}},
    }
    assert dataset_of(config, "a") is main
    assert dataset_of(config, "b") is other
    config["models"]["b"]["dataset"] = "in1k"
    with pytest.raises(InputError, match=r"models\.b\.dataset: unknown dataset .in1k.*: in16"):
        dataset_of(config, "b")
