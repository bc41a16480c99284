"""Zoo training: accuracy of the standard models, determinism, PGD, metadata and the CLI."""

from __future__ import annotations

import hashlib
import json
import re

import h5py
import pytest
import torch

from kstarlab.cli import main
from kstarlab.data import load_digits
from kstarlab.errors import InputError
from kstarlab.extract import extract
from kstarlab.models import load_model
from kstarlab.models.checkpoints import file_sha256
from kstarlab.train import TrainConfig, pgd_linf, save_trained, train_zoo


@pytest.fixture(scope="session")
def trained_zoo(tmp_path_factory):
    """Every standard zoo model, trained once per session with its default epochs."""
    folder = tmp_path_factory.mktemp("zoo")
    models = {}
    for arch in ("resnet", "vit", "mlp"):
        result = train_zoo(TrainConfig(arch, "standard", eval_pgd_steps=0))
        checkpoint, meta = save_trained(result, folder / f"{arch}-standard.pt")
        models[arch] = (result, checkpoint, meta)
    return models


@pytest.mark.parametrize("arch", ["resnet", "vit", "mlp"])
def test_standard_zoo_models_reach_95_percent(trained_zoo, arch):
    result, checkpoint, _ = trained_zoo[arch]
    assert result.metadata["test_accuracy"] >= 0.95, result.metadata
    # The saved checkpoint reproduces the accuracy through the real loading path.
    model = load_model(str(checkpoint))
    test = load_digits("test")
    with torch.no_grad():
        predictions = model.module(test.dataset.images).argmax(1).numpy()
    assert (predictions == test.labels).mean() == pytest.approx(result.metadata["test_accuracy"])


def test_metadata_json_and_checkpoint(trained_zoo):
    _, checkpoint, meta = trained_zoo["resnet"]
    record = json.loads(meta.read_text())
    for key in ("arch", "regime", "epochs", "seed", "test_accuracy", "train_seconds"):
        assert key in record, key
    assert record["arch"] == "resnet" and record["regime"] == "standard"
    assert record["epochs"] == 8 and record["seed"] == 0
    assert record["checkpoint_sha256"] == file_sha256(checkpoint)
    assert record["n_train"] == 1257 and record["n_test"] == 540
    stored = torch.load(checkpoint, weights_only=True)
    assert set(stored) == {"state_dict", "kstarlab"}
    assert stored["kstarlab"]["test_accuracy"] == record["test_accuracy"]
    assert "train_seconds" not in stored["kstarlab"]  # the checkpoint bytes hold no timing


def test_extraction_records_the_weights_hash(trained_zoo, tmp_path):
    _, checkpoint, _ = trained_zoo["mlp"]
    model = load_model("mlp", weights=str(checkpoint))
    out = tmp_path / "mlp.h5"
    result = extract(model, load_digits("test"), ["avgpool"], out)
    with h5py.File(out, "r") as f:
        assert f.attrs["weights_sha256"] == file_sha256(checkpoint)
        assert f.attrs["weights"] == str(checkpoint)
        assert f.attrs["accuracy"] == result.accuracy >= 0.95


def test_training_is_deterministic_through_the_cli(tmp_path, capsys):
    digests = []
    for run in ("a", "b"):
        out = tmp_path / run / "mlp-adv.pt"
        argv = [
            "train",
            "--arch",
            "mlp",
            "--regime",
            "adversarial",
            "--epochs",
            "2",
            "--out",
            str(out),
        ]
        assert main(argv) == 0
        assert "mlp/adversarial: 2 epochs, test accuracy" in capsys.readouterr().out
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
        record = json.loads(out.with_suffix(".json").read_text())
        assert record["regime"] == "adversarial" and record["config"]["pgd_steps"] == 3
    assert digests[0] == digests[1]
    assert not torch.are_deterministic_algorithms_enabled()  # restored after training


def test_pgd_stays_in_the_ball_and_hurts_a_standard_model(trained_zoo):
    result, _, _ = trained_zoo["vit"]
    model = load_model("vit")
    model.net.load_state_dict(result.net.state_dict())
    test = load_digits("test")
    x, y = test.dataset.images[:128], torch.from_numpy(test.labels[:128])
    eps = 8 / 255
    adv = pgd_linf(
        model.module, x, y, eps=eps, steps=10, generator=torch.Generator().manual_seed(0)
    )
    assert float((adv - x).abs().max()) <= eps + 1e-6
    assert float(adv.min()) >= 0.0 and float(adv.max()) <= 1.0
    assert all(p.grad is None for p in model.module.parameters())
    with torch.no_grad():
        clean = (model.module(x).argmax(1) == y).float().mean()
        attacked = (model.module(adv).argmax(1) == y).float().mean()
    assert attacked < clean - 0.3


def test_unavailable_and_invalid_regimes():
    for regime in ("stylized", "standard+stylized"):
        with pytest.raises(InputError, match=re.escape(f"regime '{regime}' is not available yet")):
            train_zoo(TrainConfig("mlp", regime))
    with pytest.raises(InputError, match="unknown regime 'fancy'"):
        TrainConfig("mlp", "fancy").resolved()
    with pytest.raises(InputError, match="unknown zoo arch 'resnet50'"):
        TrainConfig("resnet50").resolved()
    with pytest.raises(InputError, match="epochs must be a positive integer"):
        TrainConfig("mlp", epochs=0).resolved()
    with pytest.raises(InputError, match="eps must be in"):
        TrainConfig("mlp", "adversarial", eps=0.0).resolved()
