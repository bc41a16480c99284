"""Class-mapped datasets: one mapped decision for predictions, accuracy and PGD.

The model is a zoo MLP with 1,000 outputs trained here (a few hundred steps) on an image
folder of three colour categories, each a group of outputs, so that its mapped decision is
right on every clean image and an attack has something to take away.
"""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from kstarlab.errors import InputError
from kstarlab.latents.datasets import load_imagefolder
from kstarlab.latents.extraction import extract
from kstarlab.models.classmap import (
    MappedDecision,
    check_groups,
    decision_model,
    mapped_log_probs,
    mapped_predict,
)
from kstarlab.perturb import apply_transform

# Folders sort as blue, green, red: labels 0, 1, 2. Outputs 0, 1 and 2 all belong to blue,
# so label 1 (green) as an *output* index is one of blue's outputs.
GROUPS = {"blue": [0, 1, 2, 3], "green": [500, 501], "red": [999]}
CHANNEL = {"blue": 2, "green": 1, "red": 0}
PER_CLASS = 8
PGD = {"pgd_steps": 10, "pgd_chunk": 8}


def oracle_log_probs(logits: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    """Brute force in float64: softmax, mean over each group's outputs, log."""
    z = logits.astype(np.float64)
    probs = np.exp(z - z.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    return np.log(np.stack([probs[:, g].mean(axis=1) for g in groups], axis=1))


def make_folder(root, rng):
    """40×40 images whose category's colour channel is brighter than the others, by a
    margin that grows with the image's index (so a given ε flips some images, not all)."""
    for name, channel in CHANNEL.items():
        (root / name).mkdir(parents=True)
        for i in range(PER_CLASS):
            pixels = rng.integers(0, 100, (40, 40, 3))
            low = 90 + 12 * i
            pixels[..., channel] = rng.integers(low, low + 60, (40, 40))
            Image.fromarray(pixels.astype(np.uint8)).save(root / name / f"{i}.png")
    (root.parent / "map.json").write_text(json.dumps(GROUPS))
    return root, root.parent / "map.json"


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    """The folder, its class-mapped dataset and a 1,000-output MLP trained on the categories."""
    from kstarlab.models import load_model

    base = tmp_path_factory.mktemp("classmap")
    root, class_map = make_folder(base / "images", np.random.default_rng(0))
    data = load_imagefolder(root, resize=36, crop=32, class_map=class_map)
    images = torch.stack([data.dataset[i][0] for i in range(len(data))])
    labels = torch.as_tensor(data.labels)
    loaded = load_model("mlp", num_classes=1000, seed=0)
    decision = decision_model(loaded.module, data.output_groups)
    optimizer = torch.optim.Adam(loaded.module.parameters(), lr=1e-3)
    loaded.module.train()
    for _ in range(60):
        optimizer.zero_grad()
        torch.nn.functional.nll_loss(decision(images), labels).backward()
        optimizer.step()
    loaded.module.eval()
    optimizer.zero_grad(set_to_none=True)
    return base, root, class_map, data, loaded, images, labels


def test_mapped_log_probs_match_the_brute_force_oracle():
    rng = np.random.default_rng(1)
    logits = rng.normal(scale=4.0, size=(50, 30))
    groups = [[0], [1, 2, 3], [4, 29, 7], list(range(8, 29))]
    got = mapped_log_probs(torch.from_numpy(logits), groups)
    assert got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), oracle_log_probs(logits, groups), rtol=0, atol=1e-12)
    # a category of one output is that output's log-softmax
    log_softmax = torch.log_softmax(torch.from_numpy(logits), dim=1)[:, 0]
    assert torch.allclose(got[:, 0], log_softmax, rtol=0, atol=1e-14)
    # far-apart logits: finite, where a plain softmax would underflow to log(0)
    far = torch.tensor([[0.0, -2000.0, -2001.0]])
    assert torch.isfinite(mapped_log_probs(far, [[0], [1, 2]])).all()
    assert mapped_predict(torch.from_numpy(logits), groups).tolist() == list(
        oracle_log_probs(logits, groups).argmax(axis=1)
    )


def test_mapped_predict_by_hand():
    logits = torch.tensor([[0.0, 0.0, 5.0, 0.0], [3.0, 0.0, 0.0, 2.9]])
    assert mapped_predict(logits, None).tolist() == [2, 0]
    # Group 1 = outputs {1, 2, 3}: its mean probability wins only for the first row.
    assert mapped_predict(logits, [[0], [1, 2, 3]]).tolist() == [1, 0]


def test_groups_are_checked_against_the_outputs():
    with pytest.raises(InputError, match=r"^class map of x uses output 12, the model has 10$"):
        check_groups([[0, 12]], 10, "class map of x")
    with pytest.raises(InputError, match="category 1 has no model outputs"):
        check_groups([[0], []], 10)
    net = torch.nn.Linear(4, 10)
    with pytest.raises(InputError, match="uses output 10, the model has 10"):
        decision_model(net, [[0], [10]])(torch.zeros(2, 4))
    assert decision_model(net, None) is net
    with pytest.raises(InputError, match="already maps"):
        decision_model(decision_model(net, [[0], [1]]), [[0]])


def test_the_wrapper_shares_mode_and_parameters():
    net = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Dropout(0.5))
    net.eval()
    wrapper = MappedDecision(net, [[0, 1], [2, 3, 4, 5]])
    assert not wrapper.training and not net.training
    assert list(wrapper.parameters()) == list(net.parameters())
    x = torch.randn(3, 4, requires_grad=True)
    out = wrapper(x)
    assert out.shape == (3, 2)
    assert torch.equal(out, mapped_log_probs(net(x), wrapper.groups))
    out[:, 0].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_pgd_under_the_map_attacks_the_true_category(mapped, tmp_path):
    _, _, _, data, loaded, images, labels = mapped
    clean = extract(loaded, data, ["logit"], tmp_path / "clean.h5", batch_size=8)
    assert clean.accuracy == 1.0, "the tiny model must classify every clean image"
    out = tmp_path / "pgd.h5"
    config = {"pgd_steps": PGD["pgd_steps"], "pgd_chunk": PGD["pgd_chunk"]}
    from kstarlab.perturb import parse_transform

    result = extract(
        loaded,
        data,
        ["logit"],
        out,
        transform=parse_transform("pgd-48", seed=3, config=config),
        batch_size=8,
        seed=3,
    )
    assert 0 < result.accuracy < clean.accuracy - 0.2  # PGD lowers the mapped accuracy
    with h5py.File(out, "r") as h5:
        logits, predictions = h5["logits"][()], h5["predictions"][()]
        truth = h5["labels"][()]
        rate = float(h5.attrs["transform_attack_success_rate"])
        assert json.loads(h5.attrs["class_map"]) == GROUPS
    assert logits.shape[1] == 1000
    # predictions are the mapped decision (oracle), and the recorded success rate is the
    # share of wrong mapped predictions on the adversarial images
    assert np.array_equal(predictions, oracle_log_probs(logits, list(GROUPS.values())).argmax(1))
    assert rate == pytest.approx(float(np.mean(predictions != truth)), abs=1e-12)
    assert result.accuracy == pytest.approx(1 - rate, abs=1e-12)

    # The attack extraction ran is PGD on the mapped decision with category labels ...
    mapped_adv, info = apply_transform(
        images,
        "pgd-48",
        seed=3,
        model=decision_model(loaded.module, data.output_groups),
        labels=labels,
        config=config,
    )
    with torch.no_grad():
        mapped_logits = loaded.module(mapped_adv).numpy()
        wrong = mapped_predict(loaded.module(mapped_adv), data.output_groups) != labels
    assert np.allclose(mapped_logits, logits, rtol=0, atol=1e-5)
    assert torch.equal(info["success"], wrong)
    # ... not PGD on raw output y (label 1 = output 1, one of blue's outputs), which here
    # leaves every mapped prediction right
    raw_adv, _ = apply_transform(
        images, "pgd-48", seed=3, model=loaded.module, labels=labels, config=config
    )
    with torch.no_grad():
        assert torch.equal(mapped_predict(loaded.module(raw_adv), data.output_groups), labels)


def test_a_transform_on_a_class_mapped_dataset_sees_only_categories(mapped, tmp_path):
    """Extraction gives every transform the mapped decision: no transform can address the
    raw outputs by a label, and PGD's labels are checked against the categories."""
    _, _, _, data, loaded, images, _ = mapped

    class Probe:
        name, params, needs_grad = "probe", {}, False

        def __init__(self):
            self.seen = []

        def __call__(self, x, *, labels, indices, model):
            self.seen.append((type(model), tuple(model(x).shape)))
            return x

        def summary(self):
            return {}

    probe = Probe()
    extract(loaded, data, ["logit"], tmp_path / "probe.h5", transform=probe, batch_size=10)
    assert {s[0] for s in probe.seen} == {MappedDecision}
    assert {s[1][1] for s in probe.seen} == {3}
    decision = decision_model(loaded.module, data.output_groups)
    with pytest.raises(InputError, match=r"labels must be model outputs 0..2, got 0..500"):
        apply_transform(images[:2], "pgd-8", model=decision, labels=torch.tensor([0, 500]))


def test_class_map_beyond_the_outputs_stops_pgd_extraction(mapped, tmp_path):
    from kstarlab.models import load_model

    _, _, _, data, _, _, _ = mapped
    ten = load_model("mlp", num_classes=10, seed=0)
    with pytest.raises(InputError) as info:
        extract(ten, data, ["logit"], tmp_path / "x.h5", transform="pgd-8", batch_size=8)
    assert str(info.value).endswith(
        "class map of dataset imagefolder uses output 999, the model has 10"
    )
    assert not (tmp_path / "x.h5").exists()


def test_perturb_cli_attacks_the_category(mapped, tmp_path, capsys):
    from kstarlab.cli import main

    base, root, class_map, _, loaded, _, _ = mapped
    weights = base / "mlp1000.pt"
    if not weights.exists():
        torch.save(loaded.net.state_dict(), weights)
    args = ["perturb", "--transform", "pgd-48", "--dataset", "imagefolder", "--root", str(root)]
    args += ["--resize", "36", "--crop", "32", "--n", "24", "--model", "mlp"]
    args += ["--num-classes", "1000", "--weights", str(weights), "--pgd-steps", "10"]
    code = main([*args, "--class-map", str(class_map), "--preview", str(tmp_path / "a.png")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "accuracy 1.000 clean" in out
    perturbed = float(out.split(" perturbed")[0].rsplit(" ", 1)[1])
    rate = float(out.split("attack success rate ")[1])
    assert perturbed < 0.7 and rate == pytest.approx(1 - perturbed, abs=1e-3)
    digits = ["perturb", "--transform", "clean", "--preview", str(tmp_path / "b.png")]
    assert main([*digits, "--class-map", "imagenet16"]) == 2
    assert "digits' is labelled by the outputs" in capsys.readouterr().err


def test_geometry_refuses_a_class_mapped_dataset_in_the_config():
    from kstarlab.workflow.plan import make_plan
    from system import SMOKE

    config = yaml.safe_load(SMOKE.read_text())
    config["datasets"] = {
        "in16": {"name": "imagefolder", "root": "/no/such/16", "class_map": "imagenet16"}
    }
    config["models"]["mlp16"] = {"arch": "mlp", "weights": "none", "dataset": "in16"}
    config["geometry"] = {"enabled": True, "models": ["mlp16"], "corruptions": ["fog"]}
    config["studies"] = {}  # the geometry check alone
    with pytest.raises(InputError) as info:
        make_plan(config)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(
        "config: geometry.models: mlp16 is evaluated on datasets.in16 with class map imagenet16: "
    )
    assert "W_y" in text


def test_geometry_refuses_class_mapped_latents(mapped, tmp_path):
    from kstarlab.geometry.analysis import analyse_model

    _, root, _, data, loaded, images, _ = mapped
    clean = tmp_path / "clean.h5"
    extract(loaded, data, ["avgpool"], clean, batch_size=8)
    with pytest.raises(InputError) as info:
        analyse_model(
            loaded,
            images,
            clean,
            {"corrupt-fog-1": clean},
            "avgpool",
            [0.5],
            *(tmp_path / f for f in ("f.h5", "s.csv", "p.csv")),
        )
    text = str(info.value)
    assert text.startswith(f"geometry of mlp on {root} (class map ") and "W_y" in text
    assert not any((tmp_path / f).exists() for f in ("f.h5", "s.csv", "p.csv"))
