"""A core-only install into a fresh venv: k* and extraction work, and a workflow command
names the missing extra (pip install 'kstarlab[workflow]'). Installs torch into the new
venv from this machine's pip configuration: minutes, so it is in the system tier."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
for _ in range(3):
    if (REPO / "pyproject.toml").exists():
        break
    REPO = REPO.parent

pytestmark = pytest.mark.system


def test_core_only_install(tmp_path):
    env = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env)
    py = str(env / "bin" / "python")
    install = subprocess.run(
        [py, "-m", "pip", "install", "--quiet", str(REPO)],
        capture_output=True,
        text=True,
        timeout=2400,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    listed = subprocess.run(
        [py, "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True, check=True
    ).stdout.lower()
    installed = {line.split("==")[0] for line in listed.splitlines()}
    assert {"torch", "numpy", "h5py", "kstarlab"} <= installed
    for extra in (
        "snakemake",
        "dvc",
        "foolbox",
        "imagecorruptions-imaug",
        "umap-learn",
        "seaborn",
        "matplotlib",
        "scikit-image",
    ):
        assert extra not in installed, f"{extra} came with the core install"
    work = tmp_path / "work"
    work.mkdir()
    run = subprocess.run(
        [
            py,
            "-c",
            "import numpy as np, kstarlab;"
            "X = np.random.default_rng(0).normal(size=(30, 3)); y = np.repeat([0, 1, 2], 10);"
            "print(kstarlab.kstar_summary(kstarlab.kstar_values(X, y), y).shape)",
        ],
        capture_output=True,
        text=True,
        cwd=work,
    )
    assert run.returncode == 0 and "(3, 9)" in run.stdout, run.stderr
    cli = str(env / "bin" / "kstarlab")
    extract = subprocess.run(
        [
            cli,
            "extract",
            "--dataset",
            "digits",
            "--model",
            "mlp",
            "--weights",
            "none",
            "--layers",
            "logit",
            "--out",
            "mlp.h5",
        ],
        capture_output=True,
        text=True,
        cwd=work,
    )
    assert extract.returncode == 0, extract.stderr
    assert (work / "mlp.h5").stat().st_size > 0
    data = subprocess.run([cli, "data", "push"], capture_output=True, text=True, cwd=work)
    assert data.returncode == 2
    assert data.stderr.strip() == (
        "error: dvc is not installed; install the extra: pip install 'kstarlab[workflow]'"
    )
    assert sys.executable != py
