"""Each shared name and rule is defined once (kstarlab.names), imported by everything else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kstarlab import names

REPO = Path(__file__).resolve().parents[2]
SOURCES = [
    *sorted((REPO / "src/kstarlab").rglob("*.py")),
    *sorted((REPO / "workflow").rglob("*.smk")),
    *sorted((REPO / "workflow/scripts").glob("*.py")),
    REPO / "Snakefile",
]
CONSTANTS = [
    "DATASETS",
    "METRICS",
    "ZOO_ARCHS",
    "STYLIZED_REGIMES",
    "NO_WEIGHTS",
    "WEIGHT_SUFFIXES",
    "EMBEDDING_SUFFIXES",
    "IMAGE_SUFFIXES",
    "DEFAULT_STYLE",
    "TRAINING_KEYS",
    "APPROACHES",
    "PRUNED_FORMS",
]
FUNCTIONS = ["looks_like_path", "is_no_weights", "looks_like_weights_name"]
#: Rules that need the transform grammar live beside it (kstarlab.names imports no subpackage).
RULE_HOMES = {"check_style": "src/kstarlab/perturb/spec.py"}


def definitions(pattern: str) -> list[str]:
    found = []
    for path in SOURCES:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.match(pattern, line):
                where = path.relative_to(REPO) if path.is_relative_to(REPO) else path
                found.append(f"{where}:{number}")
    return found


@pytest.mark.parametrize("name", CONSTANTS)
def test_each_constant_is_defined_once_in_names(name):
    assert hasattr(names, name)
    assert definitions(rf"^\s*{name}\s*(:[^=]*)?=") == [f"src/kstarlab/names.py:{line(name)}"]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_rule_is_defined_once_in_names(name):
    assert callable(getattr(names, name))
    assert [d.split(":")[0] for d in definitions(rf"^\s*def {name}\(")] == ["src/kstarlab/names.py"]


@pytest.mark.parametrize("name", sorted(RULE_HOMES))
def test_each_transform_rule_is_defined_once_beside_the_grammar(name):
    assert [d.split(":")[0] for d in definitions(rf"^\s*def {name}\(")] == [RULE_HOMES[name]]


def line(name: str) -> int:
    text = (REPO / "src/kstarlab/names.py").read_text().splitlines()
    return next(i for i, t in enumerate(text, 1) if re.match(rf"^{name}\s*(:[^=]*)?=", t))


def test_the_test_finds_a_second_definition(tmp_path):
    """The check can fail: a copy of a constant elsewhere is found."""
    copy = tmp_path / "copy.py"
    copy.write_text('METRICS = ("euclidean",)\n')
    SOURCES.append(copy)
    try:
        assert len(definitions(r"^\s*METRICS\s*(:[^=]*)?=")) == 2
    finally:
        SOURCES.remove(copy)
