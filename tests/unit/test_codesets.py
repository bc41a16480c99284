"""Code sets (kstarlab.workflow.codesets): the static import graph, checked against what Python
really imports, on a synthetic package and on the workflow's own scripts."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kstarlab.workflow.codesets import ImportGraph, graph, main, script_code
from system import REPO, rule_scripts

# A synthetic package with every kind of edge the graph reads, and some it must not.
PACKAGE = {
    "__init__.py": """
        from typing import TYPE_CHECKING
        import importlib
        from pkg.base import VALUE
        if TYPE_CHECKING:
            from pkg.typing_only import Hint
        _LAZY = {"run_engine": "pkg.engine", "other": "pkg.other"}
        def __getattr__(name):
            if name not in _LAZY:
                raise AttributeError(name)
            return getattr(importlib.import_module(_LAZY[name]), name)
        """,
    "base.py": "VALUE = 1\n",
    "typing_only.py": "Hint = int\n",
    "engine.py": """
        from .base import VALUE
        def run_engine():
            from . import helpers  # a lazy, relative import
            return helpers.help() + VALUE
        """,
    "helpers.py": """
        def help():
            from pkg.sub.deep import deep
            return deep()
        """,
    "other.py": "import pkg.unused_by_scripts\nother = 2\n",
    "unused_by_scripts.py": "X = 3\n",
    "sub/__init__.py": "",
    "sub/deep.py": """
        def deep():
            from .. import base
            from ..data import read
            return base.VALUE + read()
        """,
    "data/__init__.py": """
        from importlib import resources
        def read():
            return len(resources.files("pkg.data").joinpath("table.json").read_text())
        """,
    "data/table.json": '{"a": 1}\n',
    "attr.py": """
        import pkg
        def run():
            return pkg.run_engine()  # through the package's lazy map
        """,
    "starry.py": "from pkg.sub import *\n",
}
SCRIPTS = {
    "uses_engine.py": "from pkg import run_engine\nprint(run_engine())\n",
    "uses_attr.py": "from pkg.attr import run\nprint(run())\n",
    "uses_base.py": "import pkg.base as b\nprint(b.VALUE)\n",
}
EXPECTED = {
    "uses_engine.py": {
        "pkg",
        "pkg.base",
        "pkg.engine",
        "pkg.helpers",
        "pkg.sub",
        "pkg.sub.deep",
        "pkg.data",
    },
    "uses_attr.py": {
        "pkg",
        "pkg.base",
        "pkg.attr",
        "pkg.engine",
        "pkg.helpers",
        "pkg.sub",
        "pkg.sub.deep",
        "pkg.data",
    },
    "uses_base.py": {"pkg", "pkg.base"},
}


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


@pytest.fixture
def synthetic(tmp_path):
    write(tmp_path / "src/pkg", PACKAGE)
    write(tmp_path / "scripts", SCRIPTS)
    return tmp_path


def imported(root: Path, script: Path, package: str) -> set[str]:
    """The modules of ``package`` that running ``script`` really imported (the oracle)."""
    code = (
        f"import runpy, sys; sys.path.insert(0, {str(root)!r});"
        f"runpy.run_path({str(script)!r}, run_name='__main__');"
        f"print(sorted(m for m in sys.modules if m == {package!r} or "
        f"m.startswith({package + '.'!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(eval(out.stdout.strip().splitlines()[-1]))  # a printed list of names


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_closure_is_what_python_imports(synthetic, script):
    g = ImportGraph(synthetic / "src/pkg")
    code = g.code_set(synthetic / "scripts" / script)
    assert set(code.modules) == EXPECTED[script]
    assert set(code.modules) == imported(synthetic / "src", synthetic / "scripts" / script, "pkg")
    # never: typing-only imports, the lazy map's unused entries, unrelated modules
    assert not {"pkg.typing_only", "pkg.other", "pkg.unused_by_scripts"} & set(code.modules)


def test_edges_of_each_kind(synthetic):
    g = ImportGraph(synthetic / "src/pkg")
    assert g.edges("pkg") == {"pkg.base"}  # not typing_only, not the lazy map's targets
    assert g.edges("pkg.engine") == {"pkg", "pkg.base", "pkg.helpers"}
    assert g.edges("pkg.sub.deep") == {"pkg", "pkg.base", "pkg.data", "pkg.sub"}
    assert g.edges("pkg.attr") == {"pkg", "pkg.engine"}
    assert g.edges("pkg.data") == {"pkg"}  # its own name as a string is no new edge
    assert g.edges("pkg.starry") == {"pkg", "pkg.sub"}
    assert g.lazy("pkg") == {"run_engine": "pkg.engine", "other": "pkg.other"}
    assert g.files(["pkg.data"]) == [
        synthetic / "src/pkg/data/__init__.py",
        synthetic / "src/pkg/data/table.json",
    ]


def test_hash_follows_code_not_comments(synthetic):
    scripts = synthetic / "scripts"

    def hashes():
        g = ImportGraph(synthetic / "src/pkg")
        return {name: g.code_set(scripts / name).hash for name in SCRIPTS}

    before = hashes()
    deep = synthetic / "src/pkg/sub/deep.py"
    deep.write_text('"""A new docstring."""\n# a comment\n\n' + deep.read_text() + "\n\n")
    assert hashes() == before
    deep.write_text(deep.read_text() + "CONSTANT = 1\n")
    after = hashes()
    changed = {name for name in SCRIPTS if after[name] != before[name]}
    assert changed == {"uses_engine.py", "uses_attr.py"}  # the sets holding pkg.sub.deep
    table = synthetic / "src/pkg/data/table.json"
    table.write_text('{"a": 2}\n')  # a data file is hashed by its bytes
    assert {n for n in SCRIPTS if hashes()[n] != after[n]} == {"uses_engine.py", "uses_attr.py"}
    script = scripts / "uses_base.py"
    script.write_text(script.read_text() + "print(2)\n")  # the script's own code counts
    assert hashes()["uses_base.py"] != after["uses_base.py"]


def test_hash_does_not_depend_on_where_the_tree_is(synthetic, tmp_path_factory):
    import shutil

    copy = tmp_path_factory.mktemp("elsewhere") / "tree"
    shutil.copytree(synthetic, copy)
    for name in SCRIPTS:
        a = ImportGraph(synthetic / "src/pkg").code_set(synthetic / "scripts" / name)
        b = ImportGraph(copy / "src/pkg").code_set(copy / "scripts" / name)
        assert a.hash == b.hash and a.modules == b.modules


# --- the workflow's scripts ------------------------------------------------------------


def test_lazy_names_are_no_submodule_names():
    """A lazy name equal to a submodule's would be shadowed by the submodule once imported."""
    g = graph()
    for package in (name for name in g.paths if g.is_package(name)):
        clash = {n for n in g.lazy(package) if f"{package}.{n}" in g.paths}
        assert not clash, f"{package}: {sorted(clash)}"
    assert g.lazy("kstarlab.workflow.jobs")["kstar"] == "kstarlab.workflow.jobs.kstar_cells"


def test_every_rule_hashes_its_own_script():
    rules = rule_scripts()
    assert len(rules) >= 13
    for rule, (script, code) in rules.items():
        assert code == script, f"rule {rule}: code_of({code!r}) but script {script!r}"


def loaded_by_import(script: Path) -> set[str]:
    """The kstarlab modules importing a script's kstarlab imports loads (module level)."""
    imports = [line for line in script.read_text().splitlines() if line.startswith("from kstarlab")]
    code = "\n".join(
        [
            *imports,
            "import sys",
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'kstarlab'))",
        ]
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(eval(out.stdout.strip()))


@pytest.mark.parametrize("script", sorted(p.name for p in (REPO / "workflow/scripts").glob("*.py")))
def test_script_closure_holds_its_imports(script):
    """Every kstarlab module a script's imports load is in its code set (the smoke-run
    tests check the same of the modules each job loaded while it ran)."""
    path = REPO / "workflow/scripts" / script
    assert loaded_by_import(path) <= set(script_code(path).modules)


def holders(module: str) -> set[str]:
    """The rules whose code set holds ``module``."""
    return {
        rule
        for rule, (script, _) in rule_scripts().items()
        if module in script_code(REPO / "workflow/rules" / script).modules
    }


def test_the_issue_cases():
    """The three cases a hand-kept list got wrong: the trend computation runs only in the
    trend rule, the k* job and engine only in the k* rules (of latents and of Table XXI's
    embeddings), training runs extraction code."""
    assert holders("kstarlab.workflow.plan") == {"study_trend"}
    assert holders("kstarlab.workflow.jobs.kstar_cells") == {"kstar", "embedding_kstar"}
    # ... and Table XXI's table and figure, whose module offers the engine in-process
    assert holders("kstarlab.kstar.engine") == {
        "kstar",
        "embedding_kstar",
        "embedding_tables",
        "embedding_distributions",
    }
    assert not {"train_model", "embedding_demo", "extract"} & holders("kstarlab.kstar.engine")
    assert "kstarlab.latents.extraction" in script_code(REPO / "workflow/scripts/train.py").modules
    assert holders("kstarlab.workflow.jobs.runtime") == set(rule_scripts())  # every job logs
    assert "kstarlab.workflow.codesets" not in set().union(
        *(script_code(REPO / "workflow/rules" / s).modules for s, _ in rule_scripts().values())
    )


def test_cli_prints_the_set_and_the_hash(capsys):
    script = REPO / "workflow/scripts/kstar.py"
    assert main([str(script)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{script} {script_code(script).hash}"
    assert [line.strip() for line in out[1:]] == list(script_code(script).modules)
    assert graph().module_of(REPO / "src/kstarlab/kstar/engine.py") == "kstarlab.kstar.engine"


def test_cli_bad_file_is_one_line(tmp_path, capsys):
    assert main([str(tmp_path / "nosuch.py")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: no such file: {tmp_path / 'nosuch.py'}"]
    bad = tmp_path / "bad.py"
    bad.write_text("def (:\n")
    assert main([str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {bad}: not a Python file")


def test_dvc_deps_check_and_fix(capsys):
    """dvc.yaml with one library dep dropped: the fix puts it back, byte for byte; the CLI
    finds the shipped dvc.yaml in order (tests/workflow/test_dvc.py checks the deps themselves)."""
    from kstarlab.workflow.codesets import dvc_diff, fix_dvc

    good = (REPO / "dvc.yaml").read_text()
    assert "      - src/kstarlab/kstar/engine.py\n" in good
    bad = good.replace("      - src/kstarlab/kstar/engine.py\n", "", 1)
    assert fix_dvc(REPO, bad) == good
    assert "+      - src/kstarlab/kstar/engine.py" in dvc_diff(bad, good)
    assert main(["--dvc", str(REPO / "dvc.yaml")]) == 0
    assert "match" in capsys.readouterr().out
