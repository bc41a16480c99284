"""The config's pruning section: the studies it plans and the one-line errors it refuses."""

from __future__ import annotations

import copy

import pytest

from kstarlab.errors import InputError
from kstarlab.names import APPROACHES
from kstarlab.workflow.pruning_plan import pruning_studies

BENCHMARKS = ["corrupt-fog-1"]


def config(**study):
    base = {
        "models": {
            "resnet": {"arch": "resnet", "regime": "standard"},
            "r18": {"arch": "resnet18", "weights": "/w/r18.pt", "num_classes": 10},
        },
        "dataset": {"name": "digits"},
        "pruning": {
            "enabled": True,
            "studies": {"s": {"dense": "resnet", "approaches": ["finetune", "mpt"], **study}},
        },
    }
    base["pruning"]["studies"]["s"].setdefault("sparsities", [0.5, 0.9])
    return base


def test_plans_every_approach_and_sparsity_in_order():
    study = pruning_studies(config(), BENCHMARKS)["s"]
    assert study.entities == ("dense", "finetune-0.5", "finetune-0.9", "mpt-0.5", "mpt-0.9")
    assert [e.sparsity for e in study.trained] == [0.5, 0.9, 0.5, 0.9]
    assert study.arch == "resnet" and study.dense == "resnet"


def test_disabled_section_plans_nothing():
    cfg = config()
    cfg["pruning"]["enabled"] = False
    assert pruning_studies(cfg, []) == {}


def test_checkpoints_trained_elsewhere(tmp_path):
    ckpt = tmp_path / "lottery.pt"
    ckpt.write_bytes(b"")
    cfg = config(approaches=[], sparsities=[])
    cfg["pruning"]["studies"]["s"]["dense"] = "r18"
    cfg["pruning"]["studies"]["s"]["checkpoints"] = [
        {"approach": "lottery", "sparsity": 0.8, "path": str(ckpt), "form": "torch-prune"}
    ]
    study = pruning_studies(cfg, BENCHMARKS)["s"]
    (entry,) = study.entries
    assert (entry.entity, entry.checkpoint, entry.form) == ("lottery-0.8", str(ckpt), "torch-prune")
    assert study.trained == ()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.update(approaches=["magic"]), "unknown approach 'magic'; available: oneshot"),
        (lambda s: s.update(sparsities=[1.0]), "a sparsity must lie in [0, 1), got 1.0"),
        (lambda s: s.update(sparsities=[-0.1]), "a sparsity must lie in [0, 1), got -0.1"),
        (lambda s: s.update(sparsities=["x"]), "a sparsity must be a number in [0, 1)"),
        (lambda s: s.update(dense="nope"), "dense: model 'nope' is not defined under 'models'"),
        (lambda s: s.update(dense="r18"), "the approaches prune a zoo model the workflow trains"),
        (lambda s: s.update(compare="lottery-0.5"), "compare: 'lottery-0.5' is none of"),
        (lambda s: s.update(approaches=["mpt", "mpt"]), "'mpt-0.5' is listed twice"),
        (
            lambda s: s.update(checkpoints=[{"approach": "snip", "sparsity": 0.5, "path": "/no"}]),
            "checkpoints.0.path: file not found: /no",
        ),
        (
            lambda s: s.update(
                checkpoints=[{"approach": "snip", "sparsity": 0.5, "path": "/", "form": "zip"}]
            ),
            "checkpoints.0.form: unknown 'zip'",
        ),
    ],
)
def test_bad_study_is_one_line_naming_the_key(edit, message):
    cfg = copy.deepcopy(config())
    edit(cfg["pruning"]["studies"]["s"])
    with pytest.raises(InputError) as err:
        pruning_studies(cfg, BENCHMARKS)
    text = str(err.value)
    assert message in text and text.startswith("config: pruning.studies.s") and "\n" not in text


def test_needs_benchmarks():
    with pytest.raises(InputError, match=r"geometry\.corruptions is empty"):
        pruning_studies(config(), [])


def test_every_approach_is_accepted():
    study = pruning_studies(config(approaches=list(APPROACHES), sparsities=[0.8]), BENCHMARKS)
    assert [e.approach for e in study["s"].entries] == list(APPROACHES)
