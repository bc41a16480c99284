"""The one PGD (`kstarlab.perturb.pgd.linf_pgd`) against an independent implementation:
foolbox 3.3.4's ``LinfPGD`` (a dev dependency), given the same random start."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import torch

from kstarlab.latents.datasets import load_digits
from kstarlab.models import load_model
from kstarlab.perturb.pgd import linf_pgd, pgd_attack, uniform_start

os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    fb = pytest.importorskip("foolbox")
ep = pytest.importorskip("eagerpy")


def foolbox_pgd(model, images, labels, *, eps, steps, rel_stepsize, start):
    """foolbox's LinfPGD with its random start replaced by ``images + eps * start``."""

    class GivenStart(fb.attacks.LinfPGD):
        def get_random_start(self, x0, epsilon):
            return x0 + epsilon * ep.astensor(start)

    attack = GivenStart(rel_stepsize=rel_stepsize, steps=steps, random_start=start is not None)
    fmodel = fb.PyTorchModel(model, bounds=(0, 1))
    _, clipped, success = attack(fmodel, images, labels, epsilons=eps)
    return clipped, success


@pytest.fixture(scope="module")
def model_and_data():
    torch.manual_seed(0)
    model = load_model("mlp", seed=3).module.eval().requires_grad_(False)
    data = load_digits("test")
    images = data.dataset.images[:48]
    labels = torch.from_numpy(data.labels[:48]).long()
    return model, images, labels


@pytest.mark.parametrize("eps", [2 / 255, 8 / 255, 0.1])
@pytest.mark.parametrize("random_start", [True, False])
def test_linf_pgd_is_foolboxs_linf_pgd(model_and_data, eps, random_start):
    model, images, labels = model_and_data
    start = uniform_start(images.shape, torch.Generator().manual_seed(1)) if random_start else None
    ours = linf_pgd(model, images, labels, eps=eps, steps=7, step_size=0.25 * eps, start=start)
    theirs, success = foolbox_pgd(
        model, images, labels, eps=eps, steps=7, rel_stepsize=0.25, start=start
    )
    assert torch.allclose(ours, theirs, atol=1e-6, rtol=0)
    assert float((ours - images).abs().max()) <= eps + 1e-6
    assert float(ours.min()) >= 0 and float(ours.max()) <= 1
    with torch.no_grad():
        ours_success = model(ours).argmax(1) != labels
    assert torch.equal(ours_success, success)


def test_pgd_attack_runs_the_one_pgd_per_chunk(model_and_data):
    """The transform's attack is linf_pgd on chunks, with per-sample seeded starts."""
    model, images, labels = model_and_data
    seeds = np.arange(100, 100 + images.shape[0], dtype=np.uint64)
    adv, success = pgd_attack(
        model,
        images,
        labels,
        8 / 255,
        steps=5,
        rel_stepsize=0.25,
        random_start=True,
        seeds=seeds,
        chunk=16,
    )
    start = torch.stack(
        [uniform_start(images.shape[1:], torch.Generator().manual_seed(int(s))) for s in seeds]
    )
    expected = torch.cat(
        [
            linf_pgd(
                model,
                images[i : i + 16],
                labels[i : i + 16],
                eps=8 / 255,
                steps=5,
                step_size=2 / 255,
                start=start[i : i + 16],
            )
            for i in range(0, images.shape[0], 16)
        ]
    )
    assert torch.equal(adv, expected)
    with torch.no_grad():
        assert torch.equal(success, model(adv).argmax(1) != labels)
    assert 0 < float(success.float().mean()) <= 1
