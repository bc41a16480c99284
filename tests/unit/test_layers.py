"""Layer aliases and capture: paper names on resnet50 and on every zoo model."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision.models.feature_extraction import create_feature_extractor

from kstarlab.errors import InputError
from kstarlab.latents.layers import LayerCapture, layer_aliases, node_names, resolve_layers
from kstarlab.models import Classifier, classifier_head, load_model
from kstarlab.models.zoo import ZOO


@pytest.fixture(scope="module")
def resnet50():
    return load_model("resnet50")  # random weights: no download


def fx_values(net, nodes, x):
    """Reference values from torchvision's FX feature extractor (independent of hooks)."""
    extractor = create_feature_extractor(net, return_nodes={n: n for n in nodes}).eval()
    with torch.inference_mode():
        return {k: v.flatten(1) for k, v in extractor(x).items()}


def test_resnet50_paper_aliases(resnet50):
    aliases = layer_aliases(resnet50.net)
    expected = {
        "stage4.block3.conv3": "layer4.2.conv3",
        "stage3.block6.conv3": "layer3.5.conv3",
        "stage2.block4.conv3": "layer2.3.conv3",
        "stage1.block1.conv1": "layer1.0.conv1",
        "stage4.block3": "layer4.2",
        "stage4": "layer4",
    }
    for alias, target in expected.items():
        assert aliases[alias].target == target and aliases[alias].kind == "output"
    assert "stage4.block4.conv3" not in aliases and "stage3.block6.conv4" not in aliases
    assert aliases["avgpool"].target == "fc" and aliases["avgpool"].kind == "input"
    assert aliases["logit"].kind == "logit"


def test_resnet50_capture_matches_fx(resnet50):
    names = [
        "logit",
        "avgpool",
        "stage4.block3.conv3",
        "stage3.block6.conv3",
        "stage2.block4.conv3",
    ]
    refs = resolve_layers(resnet50.net, names)
    x = torch.rand(2, 3, 64, 64)
    with torch.inference_mode(), LayerCapture(resnet50.module, refs) as capture:
        logits, features = capture(x)
    reference = fx_values(
        resnet50.net,
        ["layer4.2.conv3", "layer3.5.conv3", "layer2.3.conv3", "flatten", "fc"],
        (x - resnet50.module.mean) / resnet50.module.std,
    )
    assert torch.allclose(features["stage4.block3.conv3"], reference["layer4.2.conv3"])
    assert torch.allclose(features["stage3.block6.conv3"], reference["layer3.5.conv3"])
    assert torch.allclose(features["stage2.block4.conv3"], reference["layer2.3.conv3"])
    assert torch.allclose(features["avgpool"], reference["flatten"])
    assert torch.allclose(features["logit"], reference["fc"]) and torch.equal(
        features["logit"], logits
    )
    assert capture.shapes["stage4.block3.conv3"] == (2048, 2, 2)
    assert capture.shapes["stage3.block6.conv3"] == (1024, 4, 4)
    assert capture.shapes["avgpool"] == (2048,)


@pytest.mark.parametrize("arch", list(ZOO))
def test_every_alias_resolves_on_every_zoo_model(arch):
    model = load_model(arch)
    aliases = layer_aliases(model.net)
    refs = resolve_layers(model.net, list(aliases))
    counter = []
    model.net.register_forward_hook(lambda *_: counter.append(1))
    x = torch.rand(3, 3, 32, 32)
    with LayerCapture(model.module, refs) as capture:
        logits, features = capture(x)
    assert len(counter) == 1  # one forward pass collects every layer
    assert list(features) == list(aliases)
    for name, value in features.items():
        assert value.shape[0] == 3 and value.ndim == 2, name
        assert value.shape[1] == torch.Size(capture.shapes[name]).numel(), name
    _, head = classifier_head(model.net)
    # avgpool is exactly the input x of the final linear layer: logits = W x + b.
    assert torch.allclose(features["avgpool"] @ head.weight.T + head.bias, logits, atol=1e-5)
    assert torch.equal(features["avgpool"], features["penultimate"])


def test_zoo_alias_names():
    assert {"stage4.block2.conv2", "stage1.block1", "stage3"} <= set(
        layer_aliases(load_model("resnet").net)
    )
    vit = layer_aliases(load_model("vit").net)
    assert vit["block4"].target == "encoder.layers.encoder_layer_3"
    assert vit["avgpool"].target == "heads.head"
    mlp = layer_aliases(load_model("mlp").net)
    assert mlp["hidden1"].target == "relu1" and mlp["hidden2"].target == "relu2"


def test_raw_module_and_node_names_and_in_place_safety():
    model = load_model("resnet", seed=1)
    x = torch.rand(2, 3, 32, 32)
    # layer4.1.bn2's output is modified in place by the residual "+=": the copy must not be.
    module_refs = resolve_layers(model.net, ["layer4.1.bn2", "layer4.1", "fc"])
    assert [r.kind for r in module_refs] == ["output", "output", "output"]
    with torch.inference_mode(), LayerCapture(model.module, module_refs) as capture:
        _, hooked = capture(x)
    node_refs = resolve_layers(model.net, ["layer4.1.add", "layer4.1.bn2", "avgpool"])
    assert node_refs[0].kind == "node"
    with torch.inference_mode(), LayerCapture(model.module, node_refs) as capture:
        _, traced = capture(x)
    reference = fx_values(
        model.net, ["layer4.1.bn2", "layer4.1.add", "layer4.1.relu_1"], (x - 0.5) / 0.5
    )
    assert torch.allclose(hooked["layer4.1.bn2"], reference["layer4.1.bn2"])
    assert torch.allclose(traced["layer4.1.bn2"], reference["layer4.1.bn2"])
    assert torch.allclose(traced["layer4.1.add"], reference["layer4.1.add"])
    assert torch.allclose(hooked["layer4.1"], reference["layer4.1.relu_1"])
    assert not torch.allclose(hooked["layer4.1.bn2"], reference["layer4.1.add"])


def test_unknown_and_duplicate_layers():
    net = load_model("mlp").net
    with pytest.raises(
        InputError, match=r"unknown layer 'stage4' for mlp; available: aliases logit"
    ):
        resolve_layers(net, ["logit", "stage4"], "mlp")
    with pytest.raises(InputError, match="requested twice"):
        resolve_layers(net, ["logit", "logit"])
    with pytest.raises(InputError, match="no layers requested"):
        resolve_layers(net, [])


class Untraceable(nn.Module):
    """Data-dependent control flow: FX cannot trace it, hooks still work."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(4, 4)
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x.flatten(1))
        if h.sum() > 0:
            h = h * 2
        return self.fc(h)


def test_fx_failure_falls_back_to_hooks():
    net = Untraceable()
    nodes, reason = node_names(net)
    assert nodes is None and reason
    module = Classifier(net, (0.0,), (1.0,)).eval()
    refs = resolve_layers(net, ["body", "avgpool", "logit"])
    x = torch.rand(3, 1, 2, 2)
    with torch.inference_mode(), LayerCapture(module, refs) as capture:
        logits, features = capture(x)
    assert features["body"].shape == (3, 4) and torch.equal(features["logit"], logits)
    with pytest.raises(InputError, match="unknown layer 'mul'"):
        resolve_layers(net, ["mul"])


def test_pooling_spatial_and_tokens():
    resnet = load_model("resnet")
    refs = resolve_layers(resnet.net, ["stage1", "stage4"])
    x = torch.rand(2, 3, 32, 32)
    with torch.inference_mode():
        with LayerCapture(resnet.module, refs, pool=["stage1"]) as capture:
            _, pooled = capture(x)
        with LayerCapture(resnet.module, refs) as capture_full:
            _, full = capture_full(x)
        with LayerCapture(resnet.module, refs, pool_above=4096) as capture_auto:
            capture_auto(x)
    assert capture.pooling == {"stage1": "spatial-mean", "stage4": "none"}
    assert capture.shapes["stage1"] == (16, 32, 32) and pooled["stage1"].shape == (2, 16)
    assert torch.allclose(pooled["stage1"], full["stage1"].reshape(2, 16, -1).mean(-1), atol=1e-6)
    assert capture_auto.pooling == {
        "stage1": "spatial-mean",
        "stage4": "none",
    }  # 16384 > 4096 ≥ 2048
    vit = load_model("vit")
    with (
        torch.inference_mode(),
        LayerCapture(vit.module, resolve_layers(vit.net, ["block2"]), pool=["block2"]) as cap,
    ):
        _, tokens = cap(x)
    assert cap.pooling["block2"] == "token-mean" and tokens["block2"].shape == (2, 64)
    with (
        pytest.raises(InputError, match="has no spatial axes"),
        torch.inference_mode(),
        LayerCapture(vit.module, resolve_layers(vit.net, ["logit"]), pool=["logit"]) as cap,
    ):
        cap(x)
    with pytest.raises(InputError, match="cannot pool layer 'stage2': it is not extracted"):
        LayerCapture(resnet.module, refs, pool=["stage2"])


def test_shipped_layer_table_matches_the_models():
    """The workflow's torch-free layer check reads a shipped table: it must be exactly what
    the pinned torchvision and the zoo give (``python -m kstarlab.kstar.layer_table`` rewrites it)."""
    from kstarlab.kstar import layer_table

    assert layer_table.build_table() == layer_table._table()


def test_layer_table_accepts_what_resolve_layers_accepts():
    from kstarlab.kstar import layer_table
    from kstarlab.models.zoo import build_zoo_model

    for arch in ZOO:
        net = build_zoo_model(arch)
        names = layer_table.layer_names(arch)
        assert names and all(resolve_layers(net, [name]) for name in sorted(names)[:50])
        assert "no_such_layer" not in names
    assert layer_table.layer_names("alexnet") is None  # not tabled: checked by the job
    assert "resnet50" in layer_table.torchvision_archs()
