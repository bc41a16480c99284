"""Transforms against a really trained digits model: PGD, corruption severity, extraction."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch

from kstarlab.latents.datasets import ImageData, TensorImages, load_digits
from kstarlab.perturb import apply_transform, parse_transform

N_EVAL = 300


@pytest.fixture(scope="module")
def trained():
    """The zoo MLP trained for a few seconds on the digits train split (real training)."""
    from kstarlab.models import load_model

    loaded = load_model("mlp", seed=0)
    model = loaded.module
    train = load_digits(split="train")
    x, y = train.dataset.images, torch.as_tensor(train.labels)
    generator = torch.Generator().manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(12):
        order = torch.randperm(len(y), generator=generator)
        for start in range(0, len(y), 64):
            rows = order[start : start + 64]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[rows]), y[rows])
            loss.backward()
            optimizer.step()
    model.eval()
    optimizer.zero_grad(set_to_none=True)
    test = load_digits(split="test")
    images, labels = test.dataset.images[:N_EVAL], torch.as_tensor(test.labels[:N_EVAL])
    accuracy = accuracy_of(model, images, labels)
    assert accuracy > 0.9, f"the test model only reached {accuracy:.3f}"
    return loaded, images, labels, accuracy


def accuracy_of(model, images, labels) -> float:
    with torch.no_grad():
        return float((model(images).argmax(1) == labels).float().mean())


def test_pgd_stays_in_the_ball_and_lowers_accuracy(trained):
    loaded, images, labels, clean = trained
    model = loaded.module
    accuracies = {}
    for eps in (2, 8, 32):
        adv, info = apply_transform(
            images, f"pgd-{eps}", model=model, labels=labels, seed=0, config={"pgd_steps": 10}
        )
        assert (adv - images).abs().max() <= eps / 255 + 1e-6
        assert adv.min() >= 0 and adv.max() <= 1
        assert not adv.requires_grad
        with torch.no_grad():
            wrong = model(adv).argmax(1) != labels
        assert torch.equal(info["success"], wrong)
        assert info["attack_success_rate"] == pytest.approx(float(wrong.float().mean()))
        accuracies[eps] = accuracy_of(model, adv, labels)
    assert accuracies[32] < accuracies[8] <= accuracies[2] < clean
    assert accuracies[8] < clean - 0.03 and accuracies[32] < 0.5
    # no gradient reached the weights, and the flags are as before
    assert all(p.grad is None and p.requires_grad for p in model.parameters())


def test_pgd_restores_training_mode_and_counts_successes(trained):
    loaded, images, labels, _ = trained
    model = loaded.module
    transform = parse_transform("pgd-8", config={"pgd_steps": 3, "pgd_chunk": 8})
    model.train()
    try:
        with torch.enable_grad():
            transform(images[:10], labels=labels[:10], indices=torch.arange(10), model=model)
            transform(
                images[10:30], labels=labels[10:30], indices=torch.arange(10, 30), model=model
            )
        assert model.training
    finally:
        model.eval()
    summary = transform.summary()
    assert summary["attacked"] == 30 and 0 < summary["attack_success_rate"] <= 1
    transform.reset()
    assert transform.summary()["attacked"] == 0


def test_pgd_rejects_labels_outside_the_outputs(trained):
    from kstarlab import InputError

    loaded, images, _, _ = trained
    with pytest.raises(InputError, match=r"labels must be model outputs 0..9, got 0..12"):
        apply_transform(
            images[:4], "pgd-2", model=loaded.module, labels=torch.tensor([0, 1, 12, 3])
        )
    assert all(p.requires_grad for p in loaded.module.parameters())


@pytest.mark.parametrize("random_start", [True, False])
def test_pgd_does_not_depend_on_batch_size(trained, random_start):
    loaded, images, labels, _ = trained
    model = loaded.module
    config = {"pgd_steps": 4, "pgd_random_start": random_start}
    x, y = images[:20], labels[:20]

    def run(batch: int) -> torch.Tensor:
        transform = parse_transform("pgd-4", seed=5, config=config)
        parts = []
        for start in range(0, 20, batch):
            rows = torch.arange(start, min(start + batch, 20))
            parts.append(transform(x[rows], labels=y[rows], indices=rows, model=model))
        return torch.cat(parts)

    full = run(20)
    for batch in (1, 7):
        assert torch.equal(run(batch), full), f"batch {batch}"


def test_stronger_corruption_lowers_accuracy(trained):
    loaded, images, labels, clean = trained
    model = loaded.module
    corruptions = ("gaussian_noise", "defocus_blur", "contrast", "pixelate")
    mean_accuracy = {}
    for severity in (1, 3, 5):
        accuracies = [
            accuracy_of(model, apply_transform(images, f"corrupt-{c}-{severity}")[0], labels)
            for c in corruptions
        ]
        mean_accuracy[severity] = float(np.mean(accuracies))
    assert mean_accuracy[5] < mean_accuracy[3] < mean_accuracy[1] <= clean + 0.01
    assert mean_accuracy[5] < mean_accuracy[1] - 0.1


def test_noise_lowers_accuracy_more_with_sigma(trained):
    loaded, images, labels, _ = trained
    acc = [
        accuracy_of(loaded.module, apply_transform(images, f"noise-{s}")[0], labels)
        for s in (0.05, 0.7)
    ]
    assert acc[1] < acc[0]


def test_extraction_records_the_transform(trained, tmp_path):
    from kstarlab.latents.extraction import extract

    loaded, images, labels, _ = trained
    data = ImageData("digits", TensorImages(images[:64], labels[:64].numpy()), list("0123456789"))
    clean = extract(loaded, data, ["logit"], tmp_path / "clean.h5", batch_size=32)
    out = tmp_path / "pgd-8.h5"
    result = extract(loaded, data, ["logit"], out, transform="pgd-8", batch_size=16, seed=3)
    assert result.accuracy < clean.accuracy
    with h5py.File(out, "r") as h5:
        assert h5.attrs["transform"] == "pgd-8"
        params = json.loads(h5.attrs["transform_params"])
        assert params["eps_255"] == 8 and params["steps"] == 10 and params["random_start"]
        rate = float(h5.attrs["transform_attack_success_rate"])
        assert int(h5.attrs["transform_attacked"]) == 64
        predictions, truth = h5["predictions"][()], h5["labels"][()]
        assert rate == pytest.approx(float(np.mean(predictions != truth)))
    # the same extraction with another batch size writes the same logits
    again = tmp_path / "again.h5"
    extract(loaded, data, ["logit"], again, transform="pgd-8", batch_size=64, seed=3)
    with h5py.File(out, "r") as a, h5py.File(again, "r") as b:
        assert np.array_equal(a["logits"][()], b["logits"][()])


def test_pgd_on_a_cnn_does_not_depend_on_batch_size():
    """Convolutions pick kernels by batch size; fixed attack chunks keep results equal."""
    from kstarlab.models import load_model

    model = load_model("resnet", seed=0).module
    test = load_digits(split="test")
    x, y = test.dataset.images[:12], torch.as_tensor(test.labels[:12])
    config = {"pgd_steps": 2, "pgd_chunk": 8}

    def run(batch: int) -> torch.Tensor:
        transform = parse_transform("pgd-8", seed=1, config=config)
        parts = []
        for start in range(0, 12, batch):
            rows = torch.arange(start, min(start + batch, 12))
            parts.append(transform(x[rows], labels=y[rows], indices=rows, model=model))
        return torch.cat(parts)

    full = run(12)
    assert (full - x).abs().max() <= 8 / 255 + 1e-6
    for batch in (1, 5):
        assert torch.equal(run(batch), full), f"batch {batch}"
