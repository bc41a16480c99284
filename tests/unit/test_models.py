"""Models: the registry, checkpoint formats through the real loading path, and pickle safety."""

from __future__ import annotations

import argparse
import pathlib
from collections import OrderedDict

import pytest
import torch
import torchvision
from torch import nn

from kstarlab.errors import InputError
from kstarlab.models import classifier_head, load_model, read_model_config
from kstarlab.models.checkpoints import extract_state_dict, file_sha256
from kstarlab.models.pretrained import hub_file
from kstarlab.models.zoo import ZOO


def random_state(arch: str, seed: int, **kwargs) -> OrderedDict:
    """A state_dict of a randomly initialised model, different from seed 0's."""
    return load_model(arch, seed=seed, **kwargs).net.state_dict()


def assert_same_state(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def prefixed(state, prefix):
    return OrderedDict((prefix + k, v) for k, v in state.items())


@pytest.fixture(scope="module")
def resnet18_state():
    return random_state("resnet18", seed=3)


LAYOUTS = {
    "plain": lambda s: s,
    "state_dict": lambda s: {"state_dict": s, "epoch": 90},
    "model": lambda s: {"model": s},
    "dataparallel": lambda s: prefixed(s, "module."),
    # Geirhos et al.'s Stylized-ImageNet ResNet-50: DataParallel keys under "state_dict".
    "stylized_imagenet": lambda s: {
        "state_dict": prefixed(s, "module."),
        "epoch": 60,
        "arch": "resnet50",
        "optimizer": {"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]},
    },
    # The robustness library (Salman et al.): model and attacker copies plus a normalizer.
    "robustness": lambda s: {
        "model": OrderedDict(
            [
                *prefixed(s, "module.model.").items(),
                *prefixed(s, "module.attacker.model.").items(),
                ("module.normalizer.new_mean", torch.zeros(3, 1, 1)),
                ("module.normalizer.new_std", torch.ones(3, 1, 1)),
                ("module.attacker.normalize.new_mean", torch.zeros(3, 1, 1)),
            ]
        ),
        "epoch": 90,
        "schedule": None,
    },
    "model_prefix": lambda s: prefixed(s, "model."),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_checkpoint_layout_loads(tmp_path, resnet18_state, layout):
    path = tmp_path / f"{layout}.pth"
    torch.save(LAYOUTS[layout](resnet18_state), path)
    model = load_model("resnet18", weights=str(path))
    assert_same_state(model.net.state_dict(), resnet18_state)
    assert model.weights == str(path) and model.weights_sha256 == file_sha256(path)
    assert model.source == "torchvision" and not model.module.training


@pytest.mark.parametrize("arch", list(ZOO))
def test_zoo_checkpoints_load(tmp_path, arch):
    state = random_state(arch, seed=5)
    torch.save(
        {"state_dict": state, "kstarlab": {"arch": arch, "num_classes": 10}}, tmp_path / "m.pt"
    )
    torch.save(prefixed(state, "module."), tmp_path / "plain.pt")
    for path in (tmp_path / "m.pt", tmp_path / "plain.pt"):
        assert_same_state(load_model(arch, weights=str(path)).net.state_dict(), state)
    by_path = load_model(str(tmp_path / "m.pt"))  # the checkpoint records its arch
    assert by_path.arch == arch and by_path.name == "m"
    other = next(a for a in ZOO if a != arch)
    with pytest.raises(InputError, match=f"belong to zoo arch '{arch}', not '{other}'"):
        load_model(other, weights=str(tmp_path / "m.pt"))


def test_missing_unexpected_and_misshapen_keys(tmp_path, resnet18_state):
    missing = OrderedDict(list(resnet18_state.items())[5:])
    torch.save(missing, tmp_path / "missing.pt")
    with pytest.raises(InputError, match=r"do not match the architecture: \d+ missing \(conv1"):
        load_model("resnet18", weights=str(tmp_path / "missing.pt"))
    extra = OrderedDict([*resnet18_state.items(), ("head.extra.weight", torch.zeros(2))])
    torch.save(extra, tmp_path / "extra.pt")
    with pytest.raises(InputError, match=r"1 unexpected \(head\.extra\.weight\)"):
        load_model("resnet18", weights=str(tmp_path / "extra.pt"))
    torch.save(resnet18_state, tmp_path / "ok.pt")
    with pytest.raises(InputError, match=r"fc\.weight has shape \(1000, 512\).*\(10, 512\)"):
        load_model("resnet18", weights=str(tmp_path / "ok.pt"), num_classes=10)
    # The wrong architecture altogether.
    with pytest.raises(InputError, match="do not match the architecture"):
        load_model("resnet34", weights=str(tmp_path / "ok.pt"))
    # Old checkpoints without BatchNorm's num_batches_tracked still load.
    old = OrderedDict((k, v) for k, v in resnet18_state.items() if "num_batches" not in k)
    torch.save(old, tmp_path / "old.pt")
    load_model("resnet18", weights=str(tmp_path / "old.pt"))


def test_head_size_is_read_from_the_checkpoint(tmp_path):
    state = random_state("resnet18", seed=1, num_classes=16)
    torch.save({"state_dict": state}, tmp_path / "r16.pt")
    model = load_model("resnet18", weights=str(tmp_path / "r16.pt"))
    assert model.num_classes == 16
    assert classifier_head(model.net)[0] == "fc"


def test_missing_and_unreadable_weight_files(tmp_path):
    with pytest.raises(InputError, match=r"weights file not found: .*nope.pt"):
        load_model("resnet18", weights=str(tmp_path / "nope.pt"))
    (tmp_path / "junk.pt").write_bytes(b"definitely not a checkpoint")
    with pytest.raises(InputError, match=r"cannot read weights file .*junk.pt"):
        load_model("mlp", weights=str(tmp_path / "junk.pt"))
    torch.save({"epoch": 3, "lr": 0.1}, tmp_path / "nostate.pt")
    with pytest.raises(InputError, match=r"no state_dict found .*top-level keys: epoch, lr"):
        load_model("mlp", weights=str(tmp_path / "nostate.pt"))


class Payload:
    """Unpickling this object creates a marker file: stands for arbitrary code."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def test_untrusted_pickles_are_refused_and_trusted_ones_load(tmp_path):
    state = random_state("mlp", seed=2)
    path = tmp_path / "pickled.pt"
    torch.save({"state_dict": state, "args": argparse.Namespace(lr=0.1)}, path)
    with pytest.raises(InputError, match=r"refusing to unpickle .*argparse\.Namespace.*trusted"):
        load_model("mlp", weights=str(path))
    assert_same_state(load_model("mlp", weights=str(path), trusted=True).net.state_dict(), state)

    marker = tmp_path / "code-ran"
    evil = tmp_path / "evil.pt"
    torch.save({"state_dict": state, "payload": Payload(marker)}, evil)
    with pytest.raises(InputError, match="refusing to unpickle"):
        load_model("mlp", weights=str(evil))
    assert not marker.exists()  # refused before any code ran
    load_model("mlp", weights=str(evil), trusted=True)
    assert marker.exists()  # what trusted means

    whole = tmp_path / "module.pt"
    net = load_model("mlp", seed=4).net
    torch.save(net, whole)  # a pickled nn.Module needs full unpickling
    with pytest.raises(InputError, match="refusing to unpickle"):
        load_model("mlp", weights=str(whole))
    loaded = load_model("mlp", weights=str(whole), trusted=True)
    assert_same_state(loaded.net.state_dict(), net.state_dict())


def test_config_entries_and_trusted_flag(tmp_path):
    state = random_state("mlp", seed=2)
    path = tmp_path / "pickled.pt"
    torch.save({"state_dict": state, "args": argparse.Namespace(lr=0.1)}, path)
    config_file = tmp_path / "config.yaml"
    config_file.write_text(
        "models:\n"
        f"  mine:\n    arch: mlp\n    weights: {path}\n    trusted: true\n"
        f"  careful:\n    arch: mlp\n    weights: {path}\n"
        "  fresh:\n    arch: resnet\n    num_classes: 4\n"
    )
    config = read_model_config(config_file)
    model = load_model("mine", config=config)
    assert model.name == "mine" and model.arch == "mlp"
    assert_same_state(model.net.state_dict(), state)
    with pytest.raises(InputError, match="refusing to unpickle"):
        load_model("careful", config=config)
    assert load_model("fresh", config=config).num_classes == 4
    with pytest.raises(
        InputError, match=r"unknown model 'other'; available: config: careful, fresh"
    ):
        load_model("other", config=config)

    unsafe = tmp_path / "unsafe.yaml"
    unsafe.write_text("models: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(InputError, match="not valid YAML"):
        read_model_config(unsafe)
    typo = tmp_path / "typo.yaml"
    typo.write_text("models:\n  m:\n    arch: mlp\n    weigths: x.pt\n")
    with pytest.raises(InputError, match="model 'm' has unknown key 'weigths'"):
        read_model_config(typo)


def test_torchvision_weights_come_from_the_local_hub_cache_only(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    weights = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    expected = tmp_path / "torch" / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    assert hub_file(weights) == expected
    with pytest.raises(InputError, match=f"put resnet18-f37072fd.pth .* at {expected}"):
        load_model("resnet18", weights="IMAGENET1K_V1")
    expected.parent.mkdir(parents=True)
    state = random_state("resnet18", seed=7)
    torch.save(state, expected)
    for spec in ("IMAGENET1K_V1", "DEFAULT", "ResNet18_Weights.IMAGENET1K_V1"):
        model = load_model("resnet18", weights=spec)
        assert_same_state(model.net.state_dict(), state)
        assert model.class_names[:2] == ["tench", "goldfish"] and model.num_classes == 1000
        assert model.weights_sha256 == file_sha256(expected)
    with pytest.raises(InputError, match=r"unknown weights 'IMAGENET9K' .*available: DEFAULT"):
        load_model("resnet18", weights="IMAGENET9K")


def test_unknown_model_lists_the_available_names():
    with pytest.raises(
        InputError, match=r"unknown model 'resnet5'; available: zoo: resnet, vit, mlp"
    ):
        load_model("resnet5")
    with pytest.raises(InputError) as info:
        load_model("resnet5")
    for name in ("resnet50", "resnext101_32x8d", "wide_resnet50_2", "efficientnet_b0", "vit_b_16"):
        assert name in str(info.value)


def test_wrapper_normalises_and_paper_architectures_build():
    model = load_model("resnet", seed=0)
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        expected = model.net((x - 0.5) / 0.5)
        assert torch.equal(model.module(x), expected)
    for arch in ("resnet50", "resnext101_32x8d", "wide_resnet50_2", "efficientnet_b0", "vit_b_16"):
        with torch.device("meta"):
            net = torchvision.models.get_model(arch, weights=None)
        assert classifier_head(net) is not None, arch
    vit = load_model("vit_b_16")
    assert vit.fixed_input_size == 224 and vit.preprocessing.mean == (0.485, 0.456, 0.406)


def test_state_dict_cleaning_rules():
    t = torch.zeros(1)
    cleaned = extract_state_dict(
        {
            "model": {
                "module.model.conv.weight": t,
                "module.attacker.model.conv.weight": t,
                "module.normalizer.new_std": t,
                "features.denseblock1.denselayer1.norm.1.weight": t,
            }
        }
    )
    assert list(cleaned) == ["conv.weight", "features.denseblock1.denselayer1.norm1.weight"]
    with pytest.raises(InputError, match=r"two entries map to the same key 'conv.weight'"):
        extract_state_dict({"module.conv.weight": t, "conv.weight": t})
    with pytest.raises(InputError, match="expected a state_dict or a dict"):
        extract_state_dict([t])
    assert isinstance(load_model("mlp").net, nn.Module)


def test_the_project_config_serves_the_command_line(tmp_path, monkeypatch):
    """A model the workflow trains (with a regime) loads from the checkpoint it wrote."""
    monkeypatch.chdir(tmp_path)
    config_file = tmp_path / "config.yaml"
    config_file.write_text(
        "models:\n  small:\n    arch: mlp\n    regime: adversarial\n    eps: 0.03\n"
        "    epochs: 2\n    dataset: digits\n"
    )
    config = read_model_config(config_file)
    with pytest.raises(InputError, match=r"results/models/small.pt does not exist yet"):
        load_model("small", config=config)
    state = random_state("mlp", seed=5)
    pathlib.Path("results/models").mkdir(parents=True)
    torch.save({"state_dict": state, "kstarlab": {"arch": "mlp"}}, "results/models/small.pt")
    model = load_model("small", config=config)
    assert model.weights.endswith("results/models/small.pt")
    assert_same_state(model.net.state_dict(), state)
    explicit = tmp_path / "other.pt"
    torch.save(random_state("mlp", seed=6), explicit)
    assert_same_state(
        load_model("small", config=config, weights=str(explicit)).net.state_dict(),
        random_state("mlp", seed=6),
    )
