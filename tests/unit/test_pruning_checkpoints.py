"""Pruned checkpoints: ours (plain), torch.nn.utils.prune pairs and edge-popup scores load
to the model that was saved; a sparsity that does not match is a one-line error."""

from __future__ import annotations

import copy
import json
import pathlib
import re

import pytest
import torch
from torch.nn.utils import prune

from kstarlab.errors import InputError
from kstarlab.latents.datasets import load_digits
from kstarlab.latents.digits import write_digits
from kstarlab.models.registry import ZOO_PREPROCESSING, Classifier
from kstarlab.models.training import deterministic
from kstarlab.models.zoo import build_zoo_model
from kstarlab.pruning import PruneSettings, load_pruned, prune_model, save_pruned
from kstarlab.pruning.masks import apply_masks, global_magnitude_masks, prunable_layers
from kstarlab.pruning.scores import attach_scores, edge_popup_state, signed_constant_


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    path = tmp_path_factory.mktemp("digits") / "digits.npz"
    write_digits(path)
    return path


@pytest.fixture(scope="module")
def images(digits):
    return load_digits("test", prepared=digits).dataset.images[:256]


def logits(net, images):
    with torch.no_grad():
        return Classifier(net, ZOO_PREPROCESSING.mean, ZOO_PREPROCESSING.std).eval()(images)


def random_net(seed=0):
    with deterministic(seed, 1):
        return build_zoo_model("mlp")


def test_plain_checkpoint_loads_to_the_saved_model(tmp_path, digits, images):
    settings = PruneSettings(train_epochs=1)
    result = prune_model("snip", "mlp", 0.8, settings=settings, prepared=digits)
    path, record = save_pruned(result, tmp_path / "snip.pt")
    loaded = load_pruned("mlp", path, form="plain", sparsity=0.8)
    assert torch.equal(logits(loaded, images), logits(result.model, images))
    meta = json.loads(record.read_text())
    assert (
        meta["approach"] == "snip" and meta["sparsity"] == 0.8 and meta["checkpoint"] == "snip.pt"
    )
    stored = torch.load(path, weights_only=True)
    assert "train_seconds" not in stored["kstarlab"]  # the bytes do not depend on timing
    assert stored["kstarlab"]["measured_sparsity"] == result.metadata["measured_sparsity"]


def test_torch_prune_pairs_load_to_the_saved_model(tmp_path, images):
    net = random_net()
    masks = global_magnitude_masks(net, 0.7)
    layers = prunable_layers(net)
    for name, mask in masks.items():
        prune.custom_from_mask(layers[name], "weight", mask)
    state = net.state_dict()
    assert "fc1.weight_orig" in state and "fc1.weight_mask" in state
    torch.save(state, tmp_path / "pairs.pth")
    loaded = load_pruned("mlp", tmp_path / "pairs.pth", form="torch-prune", sparsity=0.7)
    assert torch.equal(logits(loaded, images), logits(net, images))
    assert "weight_orig" not in " ".join(loaded.state_dict())


def test_edge_popup_scores_load_to_the_saved_model(tmp_path, images):
    with deterministic(3, 1):
        net = build_zoo_model("mlp")
        signed_constant_(net, 0.6)
        attach_scores(net, 0.6)
    state = edge_popup_state(net)
    assert {"fc1.weight", "fc1.scores"} <= state.keys()
    torch.save({"state_dict": state}, tmp_path / "edge-popup.pt")
    loaded = load_pruned("mlp", tmp_path / "edge-popup.pt", form="edge-popup", sparsity=0.6)
    assert torch.equal(logits(loaded, images), logits(net, images))


def test_a_network_instance_can_receive_the_checkpoint(tmp_path, images):
    net = random_net()
    apply_masks(net, global_magnitude_masks(net, 0.5))
    torch.save(net.state_dict(), tmp_path / "plain.pt")
    loaded = load_pruned(random_net(seed=9), tmp_path / "plain.pt", form="plain", sparsity=0.5)
    assert torch.equal(logits(loaded, images), logits(net, images))


@pytest.mark.parametrize("form", ["plain", "torch-prune", "edge-popup"])
def test_a_sparsity_other_than_declared_is_a_one_line_error(tmp_path, form):
    net = random_net()
    path = tmp_path / f"{form}.pt"
    if form == "edge-popup":
        # The checkpoint's weights already hold zeros beyond what the scores prune.
        apply_masks(net, global_magnitude_masks(net, 0.8))
        state = {
            **net.state_dict(),
            **{f"{n}.scores": torch.rand(m.weight.shape) for n, m in prunable_layers(net).items()},
        }
        torch.save(state, path)
        declared, measured = 0.5, r"0\.(8|9)\d{3}"  # 0.8 + 0.5 · 0.2, less the overlap
    else:
        masks = global_magnitude_masks(net, 0.8)
        if form == "torch-prune":
            for name, mask in masks.items():
                prune.custom_from_mask(prunable_layers(net)[name], "weight", mask)
        else:
            apply_masks(net, masks)
        torch.save(net.state_dict(), path)
        declared, measured = 0.5, r"0\.8000"
    with pytest.raises(InputError) as error:
        load_pruned("mlp", path, form=form, sparsity=declared)
    text = str(error.value)
    assert "\n" not in text and str(path) in text
    assert re.search(rf"measured sparsity {measured} .* declared 0\.5000$", text)


def test_one_weight_per_layer_of_tolerance(tmp_path):
    net = random_net()
    masks = global_magnitude_masks(net, 0.5)
    apply_masks(net, masks)
    total = sum(m.numel() for m in masks.values())
    torch.save(net.state_dict(), tmp_path / "plain.pt")
    layers = len(masks)
    load_pruned("mlp", tmp_path / "plain.pt", sparsity=0.5 + layers / total)
    with pytest.raises(InputError, match="does not match the declared"):
        load_pruned("mlp", tmp_path / "plain.pt", sparsity=0.5 + (layers + 1) / total)


def test_bad_forms_and_files_are_one_line_errors(tmp_path):
    net = random_net()
    torch.save(net.state_dict(), tmp_path / "dense.pt")
    with pytest.raises(
        InputError,
        match="unknown pruned checkpoint form 'zeros'; available: plain, torch-prune, edge-popup",
    ):
        load_pruned("mlp", tmp_path / "dense.pt", form="zeros", sparsity=0.0)
    with pytest.raises(InputError, match="no weight_orig/weight_mask pairs"):
        load_pruned("mlp", tmp_path / "dense.pt", form="torch-prune", sparsity=0.0)
    with pytest.raises(InputError, match=r"no '<layer>\.scores' entries"):
        load_pruned("mlp", tmp_path / "dense.pt", form="edge-popup", sparsity=0.5)
    with pytest.raises(InputError, match="weights file not found"):
        load_pruned("mlp", tmp_path / "missing.pt", sparsity=0.5)
    with pytest.raises(InputError, match="unknown zoo arch 'vgg'"):
        load_pruned("vgg", tmp_path / "dense.pt", sparsity=0.0)
    with pytest.raises(InputError, match=r"sparsity must lie in \[0, 1\)"):
        load_pruned("mlp", tmp_path / "dense.pt", sparsity=1.0)
    loaded = load_pruned("mlp", tmp_path / "dense.pt", sparsity=0.0)
    assert copy.deepcopy(loaded).fc.weight.count_nonzero() == loaded.fc.weight.numel()


def test_loading_refuses_pickled_objects(tmp_path):
    torch.save(
        {"state_dict": random_net().state_dict(), "extra": pathlib.PurePosixPath("x")},
        tmp_path / "x.pt",
    )
    with pytest.raises(InputError, match="refusing to unpickle"):
        load_pruned("mlp", tmp_path / "x.pt", sparsity=0.0)
