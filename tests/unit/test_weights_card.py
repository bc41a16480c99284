"""The weights card of a pretrained model (rule weights_card): the resolved file, its size
and SHA-256, recorded without loading the checkpoint."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch
import torchvision
from torch import nn

from kstarlab.errors import InputError
from kstarlab.models.pretrained import hub_file
from kstarlab.workflow import jobs


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "weights" / "small.pt"
    path.parent.mkdir()
    torch.save(nn.Linear(4, 3).state_dict(), path)
    return path


def test_card_records_the_file_without_loading_it(checkpoint, tmp_path, monkeypatch):
    def no_load(*args, **kwargs):
        raise AssertionError("the card must not load the checkpoint")

    monkeypatch.setattr(torch, "load", no_load)
    entry = {"arch": "resnet18", "weights": str(checkpoint), "trusted": True, "num_classes": 3}
    out = tmp_path / "results" / "models" / "small.weights.json"
    jobs.weights_card("small", entry, str(out))
    data = checkpoint.read_bytes()
    card = json.loads(out.read_text())
    assert card == {
        "name": "small",
        "arch": "resnet18",
        "weights": str(checkpoint),
        "file": str(checkpoint),
        "size_bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "trusted": True,
        "num_classes": 3,
    }
    assert list(card) == sorted(card)
    again = tmp_path / "again.json"
    jobs.weights_card("small", dict(reversed(list(entry.items()))), str(again))
    assert again.read_bytes() == out.read_bytes()
    assert not list(out.parent.glob(".*.tmp"))


def test_card_of_a_torchvision_enum_is_its_hub_cache_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    hub = hub_file(torchvision.models.ResNet18_Weights.IMAGENET1K_V1)
    hub.parent.mkdir(parents=True)
    hub.write_bytes(b"not read, only hashed")
    out = tmp_path / "r18.weights.json"
    jobs.weights_card("r18", {"arch": "resnet18", "weights": "IMAGENET1K_V1"}, str(out))
    card = json.loads(out.read_text())
    assert card["file"] == str(hub) and card["weights"] == "IMAGENET1K_V1"
    assert card["sha256"] == hashlib.sha256(b"not read, only hashed").hexdigest()
    assert card["size_bytes"] == 21 and card["trusted"] is False
    assert "num_classes" not in card


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ("{tmp}/no/such.pt", r"^weights file not found: .*/no/such\.pt$"),
        ("IMAGENET1K_V1", r"^weights ResNet18_Weights\.IMAGENET1K_V1 are not in the local torch"),
    ],
    ids=["path", "hub"],
)
def test_missing_weights_file_is_a_one_line_input_error(weights, message, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    out = tmp_path / "m.weights.json"
    entry = {"arch": "resnet18", "weights": weights.format(tmp=tmp_path)}
    with pytest.raises(InputError, match=message) as exc:
        jobs.weights_card("m", entry, str(out))
    assert "\n" not in str(exc.value)
    if weights == "IMAGENET1K_V1":
        hub = tmp_path / "torch" / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
        assert "put resnet18-f37072fd.pth (from https://" in str(exc.value)
        assert f") at {hub}, or set TORCH_HOME" in str(exc.value)
    assert not out.exists()
