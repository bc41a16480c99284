"""Zoo training: accuracy of the standard models, determinism, PGD, stylized regimes, the CLI."""

from __future__ import annotations

import hashlib
import json
import re

import h5py
import pytest
import torch

from kstarlab.cli import main
from kstarlab.errors import InputError
from kstarlab.latents.datasets import load_digits
from kstarlab.latents.extraction import extract
from kstarlab.models import load_model
from kstarlab.models.checkpoints import file_sha256
from kstarlab.models.training import TrainConfig, save_trained, train_zoo, training_set
from kstarlab.perturb import apply_transform
from kstarlab.perturb.pgd import linf_pgd, uniform_start


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
        if run == "b":
            argv += ["--device", "cpu"]  # explicit: the same bytes as the default
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
    start = uniform_start(x.shape, torch.Generator().manual_seed(0))
    adv = linf_pgd(model.module, x, y, eps=eps, steps=10, step_size=eps / 4, start=start)
    assert float((adv - x).abs().max()) <= eps + 1e-6
    assert float(adv.min()) >= 0.0 and float(adv.max()) <= 1.0
    assert all(p.grad is None for p in model.module.parameters())
    with torch.no_grad():
        clean = (model.module(x).argmax(1) == y).float().mean()
        attacked = (model.module(adv).argmax(1) == y).float().mean()
    assert attacked < clean - 0.3


def test_invalid_regimes_and_styles():
    message = (
        "unknown regime 'fancy'; available: standard, adversarial, stylized, standard+stylized"
    )
    with pytest.raises(InputError, match=re.escape(message)) as info:
        TrainConfig("mlp", "fancy").resolved()
    assert str(info.value) == message  # one line
    with pytest.raises(InputError, match="unknown regime 'fancy'"):
        training_set("fancy", torch.zeros(1, 3, 32, 32), torch.zeros(1, dtype=torch.long))
    with pytest.raises(InputError, match="unknown zoo arch 'resnet50'"):
        TrainConfig("resnet50").resolved()
    with pytest.raises(InputError, match="epochs must be a positive integer"):
        TrainConfig("mlp", epochs=0).resolved()
    with pytest.raises(InputError, match="eps must be in"):
        TrainConfig("mlp", "adversarial", eps=0.0).resolved()
    # Every (arch, regime) pair has default epochs.
    for arch in ("resnet", "vit", "mlp"):
        for regime in ("standard", "adversarial", "stylized", "standard+stylized"):
            assert TrainConfig(arch, regime).resolved().epochs >= 1
    # The stylized regimes take a style-fda transform, by default one random image per sample.
    assert TrainConfig("mlp").resolved().style is None
    for regime in ("stylized", "standard+stylized"):
        assert TrainConfig("mlp", regime).resolved().style == "style-fda-random"
        chosen = TrainConfig("mlp", regime, style="style-fda-china-0.10").resolved()
        assert chosen.style == "style-fda-china"  # canonical
    for style in ("noise-0.1", "style-adain"):
        with pytest.raises(InputError, match="take the weight-free style-fda"):
            TrainConfig("mlp", "stylized", style=style).resolved()
    with pytest.raises(InputError, match="unknown style image 'monet'"):
        TrainConfig("mlp", "stylized", style="style-fda-monet").resolved()
    with pytest.raises(InputError, match="applies only to the regimes stylized"):
        TrainConfig("mlp", "standard", style="style-fda-china").resolved()


@pytest.fixture(scope="module")
def digits_train():
    train = load_digits("train")
    return train.dataset.images, torch.from_numpy(train.labels)


def test_stylized_training_set_is_a_fixed_stylized_copy(digits_train):
    x, y = digits_train
    n = x.shape[0]
    for regime in ("standard", "adversarial"):  # adversarial: PGD perturbs each batch later
        images, labels = training_set(regime, x, y)
        assert images is x and labels is y
    stylized, labels = training_set("stylized", x, y, seed=0)
    assert stylized.shape == x.shape and stylized.dtype == x.dtype
    assert torch.equal(labels, y)
    # Every training image is stylized, none is left clean, and all stay in [0, 1].
    assert bool(((stylized - x).abs().flatten(1).amax(1) > 0.05).all())
    assert float(stylized.min()) >= 0.0 and float(stylized.max()) <= 1.0
    # Exactly the perturbation module's style-fda-random, sample i seeded by (seed, i).
    expected, _ = apply_transform(x, "style-fda-random", seed=0, indices=torch.arange(n))
    assert torch.equal(stylized, expected)
    assert torch.equal(training_set("stylized", x, y, seed=0)[0], stylized)
    assert not torch.equal(training_set("stylized", x, y, seed=1)[0], stylized)
    china, _ = training_set("stylized", x, y, style="style-fda-china", seed=0)
    assert not torch.equal(china, stylized)
    # SIN+IN: the clean images exactly, then the stylized ones, labels repeated.
    union, union_labels = training_set("standard+stylized", x, y, seed=0)
    assert union.shape == (2 * n, *x.shape[1:])
    assert torch.equal(union[:n], x) and torch.equal(union[n:], stylized)
    assert torch.equal(union_labels, torch.cat([y, y]))


def test_stylized_training_is_deterministic_through_the_cli(tmp_path, capsys):
    digests = []
    for run in ("a", "b"):
        out = tmp_path / run / "mlp-sin.pt"
        argv = ["train", "--arch", "mlp", "--regime", "stylized", "--epochs", "2"]
        assert main([*argv, "--eval-pgd-steps", "0", "--out", str(out)]) == 0
        assert "mlp/stylized: 2 epochs, test accuracy" in capsys.readouterr().out
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
        record = json.loads(out.with_suffix(".json").read_text())
        assert record["regime"] == "stylized" and record["style"] == "style-fda-random"
        assert record["config"]["style"] == "style-fda-random"
        assert record["samples_per_epoch"] == record["n_train"] == 1257
        assert 0 <= record["stylized_test_accuracy"] <= 1
        assert "stylize_seconds" in record
        assert "stylize_seconds" not in torch.load(out, weights_only=True)["kstarlab"]
    assert digests[0] == digests[1]
    assert not torch.are_deterministic_algorithms_enabled()  # restored after training
    # The same run on clean images gives other weights: the model saw the stylized images.
    standard = train_zoo(TrainConfig("mlp", "standard", epochs=2, eval_pgd_steps=0))
    stylized = torch.load(tmp_path / "a" / "mlp-sin.pt", weights_only=True)["state_dict"]
    assert any(not torch.equal(v, stylized[k]) for k, v in standard.net.state_dict().items())
    assert standard.metadata["style"] is None
    assert standard.metadata["stylized_test_accuracy"] is None


def test_standard_plus_stylized_trains_on_both(tmp_path):
    config = TrainConfig("mlp", "standard+stylized", epochs=1, eval_pgd_steps=0)
    first, second = train_zoo(config), train_zoo(config)
    assert first.metadata["samples_per_epoch"] == 2 * first.metadata["n_train"] == 2514
    assert first.metadata["style"] == "style-fda-random"
    paths = [save_trained(r, tmp_path / f"{i}.pt")[0] for i, r in enumerate((first, second))]
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_robust_accuracy_is_measured_by_default_only_for_adversarial_models():
    assert TrainConfig("mlp", "adversarial").resolved().eval_pgd_steps == 10
    for regime in ("standard", "stylized", "standard+stylized"):
        assert TrainConfig("mlp", regime).resolved().eval_pgd_steps == 0
    assert TrainConfig("mlp", "standard", eval_pgd_steps=3).resolved().eval_pgd_steps == 3
    with pytest.raises(InputError, match="eval_pgd_steps must be a non-negative integer"):
        TrainConfig("mlp", eval_pgd_steps=-1).resolved()


def test_training_on_a_missing_gpu_is_one_line(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: the missing-device error cannot be shown")
    with pytest.raises(InputError, match="torch finds no CUDA device"):
        train_zoo(TrainConfig(arch="mlp", epochs=1), device="cuda")
    out = tmp_path / "mlp.pt"
    code = main(["train", "--arch", "mlp", "--epochs", "1", "--out", str(out), "--device", "cuda"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == ["error: device 'cuda' requested, but torch finds no CUDA device"]
    assert not out.exists()
