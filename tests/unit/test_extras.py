"""The core install: k* and extraction work without the extras, and a missing extra is one
line naming it. The extras are hidden from a real subprocess by an import blocker; the
system tier (`tests/system/test_core_install.py`) installs the core into a fresh venv."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from kstarlab.extras import EXTRA_OF

REPO = Path(__file__).resolve().parents[2]
for _ in range(3):
    if (REPO / "pyproject.toml").exists():
        break
    REPO = REPO.parent

BLOCKER = textwrap.dedent(
    f"""
    import importlib.abc, sys
    HIDDEN = {sorted(EXTRA_OF)!r}
    class Hide(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in HIDDEN:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
    sys.meta_path.insert(0, Hide())
    """
)


def core_python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run code in a fresh interpreter that cannot import any extra."""
    script = tmp_path / "run.py"
    script.write_text(BLOCKER + textwrap.dedent(code))
    return subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600, cwd=tmp_path
    )


def core_cli(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return core_python(
        f"import sys\nfrom kstarlab.cli import main\nsys.exit(main({args!r}))\n", tmp_path
    )


def test_the_core_holds_no_extra():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = {d.split("=")[0].split(">")[0].split("<")[0] for d in project["dependencies"]}
    assert core == {
        *("torch", "torchvision", "numpy", "scipy", "pandas", "h5py"),
        *("scikit-learn", "tqdm", "pyyaml"),
    }
    extras = project["optional-dependencies"]
    assert set(extras["all"][0].split("[")[1].rstrip("]").split(",")) == {
        "plots",
        "perturb",
        "workflow",
        "explorer",
    }
    assert {"snakemake==9.27.1", "dvc==3.67.1"} <= set(extras["workflow"])


def test_kstar_and_extraction_work_without_extras(tmp_path):
    proc = core_python(
        """
        import numpy as np, kstarlab
        rng = np.random.default_rng(0)
        X, y = rng.normal(size=(60, 4)), np.repeat([0, 1, 2], 20)
        print(kstarlab.kstar_summary(kstarlab.kstar_values(X, y), y).shape)
        from kstarlab.cli import main
        code = main(["extract", "--dataset", "digits", "--model", "mlp", "--weights", "none",
                     "--layers", "logit", "--out", "mlp.h5"])
        import h5py
        with h5py.File("mlp.h5") as f:
            print(code, f["latents/logit"].shape)
        hidden = [m for m in sys.modules if m.split(".")[0] in HIDDEN]
        print("hidden imported:", hidden)
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "(3, 9)" in proc.stdout  # the paper's six columns and the γ interval's three
    assert "0 (540, 10)" in proc.stdout
    assert "hidden imported: []" in proc.stdout


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (["data", "push"], "workflow"),
        (
            [
                *("extract", "--dataset", "digits", "--model", "mlp", "--weights", "none"),
                *("--transform", "corrupt-fog-1", "--layers", "logit", "--out", "x.h5"),
            ],
            "perturb",
        ),
    ],
)
def test_a_missing_extra_is_one_line_naming_it(args, extra, tmp_path):
    proc = core_cli(args, tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"pip install 'kstarlab[{extra}]'" in lines[0], proc.stderr
    assert not (tmp_path / "x.h5").exists()


def test_plots_name_their_extra(tmp_path):
    proc = core_python(
        """
        from kstarlab.errors import InputError
        try:
            import kstarlab.figures
        except InputError as exc:
            print("error:", exc)
        """,
        tmp_path,
    )
    assert (
        "error: matplotlib is not installed; install the extra: pip install 'kstarlab[plots]'"
        in proc.stdout
    )
