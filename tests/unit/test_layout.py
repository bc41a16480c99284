"""The package layout's rules, read from the static import graph (`kstarlab.workflow.codesets`):
the science never imports the workflow or the command line, the shared base imports no
subpackage, and no modules import each other in a cycle."""

from __future__ import annotations

import importlib

import pytest

import kstarlab
from kstarlab.workflow.codesets import ImportGraph, graph

#: Torch-free modules every layer may import (errors, shared names, output paths, files).
BASE = (
    "kstarlab",
    "kstarlab.errors",
    "kstarlab.extras",
    "kstarlab.figures",
    "kstarlab.io",
    "kstarlab.names",
    "kstarlab.paths",
    "kstarlab.resources",
)
SCIENCE = ("kstar", "latents", "models", "perturb", "geometry", "pruning")
LAYERS = {  # a layer -> the layers it may import (besides itself and the base)
    "science": set(),
    "explorer": {"science"},  # the interactive page over the science's results
    "workflow": {"science", "explorer"},
    "cli": {"science", "workflow", "explorer"},
}


def layer_of(module: str) -> str:
    if module in BASE:
        return "base"
    top = module.split(".")[1]
    if top in SCIENCE:
        return "science"
    if top in ("explorer", "workflow", "cli"):
        return top
    raise AssertionError(f"{module}: no layer (add it to a subpackage or to BASE)")


def own_edges(g: ImportGraph, module: str) -> set[str]:
    """What a module imports, without the package above it (Python runs that first)."""
    return set(g.edges(module)) - {module.rpartition(".")[0]}


def cycles(g: ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in own_edges(g, v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(g.paths):
        if module not in index:
            visit(module)
    return found


def test_every_module_has_a_layer():
    for module in graph().paths:
        layer_of(module)


@pytest.mark.parametrize("layer", ["base", *LAYERS])
def test_no_upward_imports(layer):
    """The science never imports the workflow or the CLI (lazy imports count), the base
    imports only the base."""
    g = graph()
    allowed = {layer, "base", *LAYERS.get(layer, ())}
    bad = {
        module: sorted(m for m in own_edges(g, module) if layer_of(m) not in allowed)
        for module in g.paths
        if layer_of(module) == layer
    }
    assert not {m: b for m, b in bad.items() if b}


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_the_cycle_check_finds_a_cycle(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg import b\n")
    (pkg / "b.py").write_text("def f():\n    from pkg.a import x\n")
    assert cycles(ImportGraph(pkg)) == [["pkg.a", "pkg.b"]]


def test_the_layer_check_finds_an_upward_import():
    g = graph()
    assert layer_of("kstarlab.kstar.engine") == "science"
    assert "workflow" not in {"science", *LAYERS["science"]}
    assert layer_of("kstarlab.workflow.plan") == "workflow"
    assert any(layer_of(m) == "science" for m in own_edges(g, "kstarlab.workflow.plan"))


def test_public_api_unchanged():
    """The top-level names and the console script's entry point keep working."""
    from kstarlab.kstar import kstar_summary, kstar_values, pattern_averages

    assert kstarlab.kstar_values is kstar_values
    assert kstarlab.kstar_summary is kstar_summary
    assert kstarlab.pattern_averages is pattern_averages
    assert callable(importlib.import_module("kstarlab.cli").main)
