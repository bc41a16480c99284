"""AdaIN: the layer's statistics, alpha, network shapes, and weights in the released layout."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from kstarlab import InputError
from kstarlab.perturb import apply_transform, parse_transform
from kstarlab.perturb.style import (
    AdaIN,
    adain_decoder,
    adain_features,
    encoder_to_relu4_1,
    mean_std,
    vgg_normalised,
)

# Conv indices of the released files (pytorch-AdaIN's vgg_normalised.pth and decoder.pth).
VGG_CONVS = [0, 2, 5, 9, 12, 16, 19, 22, 25, 29, 32, 35, 38, 42, 45, 48, 51]
DECODER_CONVS = [1, 5, 8, 11, 14, 18, 21, 25, 28]


def test_layouts_match_the_released_files():
    vgg, decoder = vgg_normalised(), adain_decoder()
    assert len(vgg) == 53 and len(decoder) == 29
    assert sorted({int(k.split(".")[0]) for k in vgg.state_dict()}) == VGG_CONVS
    assert sorted({int(k.split(".")[0]) for k in decoder.state_dict()}) == DECODER_CONVS
    assert tuple(vgg.state_dict()["0.weight"].shape) == (3, 3, 1, 1)
    assert tuple(vgg.state_dict()["29.weight"].shape) == (512, 256, 3, 3)  # relu4_1's conv
    encoder = encoder_to_relu4_1(vgg)
    assert len(encoder) == 31 and isinstance(encoder[30], torch.nn.ReLU)


def test_random_networks_give_right_shapes():
    torch.manual_seed(0)
    encoder, decoder = encoder_to_relu4_1(vgg_normalised()), adain_decoder()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        features = encoder(x)
        assert features.shape == (2, 512, 4, 4)
        assert decoder(features).shape == (2, 3, 32, 32)
        assert encoder(torch.rand(1, 3, 64, 48)).shape == (1, 512, 8, 6)


def test_adain_output_has_the_style_statistics():
    g = torch.Generator().manual_seed(0)
    content = torch.randn(3, 8, 5, 5, generator=g) * 2 + 1
    style = torch.randn(3, 8, 7, 6, generator=g) * torch.rand(1, 8, 1, 1, generator=g) * 3 - 2
    out = adain_features(content, style, alpha=1.0)
    out_mean, out_std = mean_std(out, eps=0)
    style_mean, style_std = mean_std(style, eps=0)
    assert torch.allclose(out_mean, style_mean, atol=1e-5)
    assert torch.allclose(out_std, style_std, rtol=1e-3)


def test_adain_alpha():
    g = torch.Generator().manual_seed(1)
    content, style = torch.randn(2, 4, 3, 3, generator=g), torch.randn(2, 4, 3, 3, generator=g)
    assert torch.equal(adain_features(content, style, alpha=0.0), content)
    full = adain_features(content, style, alpha=1.0)
    half = adain_features(content, style, alpha=0.5)
    assert torch.allclose(half, 0.5 * full + 0.5 * content, atol=1e-6)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """Random weights saved in the released layout, and a folder of three style images."""
    root = tmp_path_factory.mktemp("adain")
    torch.manual_seed(0)
    torch.save(vgg_normalised().state_dict(), root / "vgg_normalised.pth")
    torch.save(adain_decoder().state_dict(), root / "decoder.pth")
    styles = root / "styles"
    styles.mkdir()
    rng = np.random.default_rng(0)
    for k in range(3):
        pixels = (rng.random((40, 50, 3)) * [255, 128 * k, 60]).astype(np.uint8)
        Image.fromarray(pixels).save(styles / f"style{k}.png")
    (styles / "notes.txt").write_text("not an image")
    return {
        "adain_encoder": str(root / "vgg_normalised.pth"),
        "adain_decoder": str(root / "decoder.pth"),
        "adain_styles": str(styles),
    }


def test_weights_load_through_the_real_path(weights):
    adain = AdaIN.from_files(
        weights["adain_encoder"], weights["adain_decoder"], weights["adain_styles"]
    )
    saved = torch.load(weights["adain_encoder"], weights_only=True)
    assert torch.equal(adain.encoder[29].weight, saved["29.weight"])
    assert torch.equal(
        adain.decoder[28].weight,
        torch.load(weights["adain_decoder"], weights_only=True)["28.weight"],
    )
    assert adain.describe()["n_styles"] == 3
    x = torch.rand(5, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    out, info = apply_transform(x, "style-adain", config=weights, seed=1)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1 and info == {}
    transform = parse_transform("style-adain-0.5", config=weights)
    assert transform.params["alpha"] == 0.5 and len(transform.params["encoder_sha256"]) == 64
    # batch size does not change the result
    with torch.no_grad():
        ones = torch.cat([transform(x[i : i + 1], indices=[i]) for i in range(5)])
        assert torch.equal(ones, transform(x, indices=range(5)))


def test_alpha_zero_decodes_the_content_features(weights):
    adain = AdaIN.from_files(
        weights["adain_encoder"], weights["adain_decoder"], weights["adain_styles"]
    )
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        expected = adain.decoder(adain.encoder(x)).clamp(0, 1)
    out, _ = apply_transform(x, "style-adain-0", config=weights)
    assert torch.allclose(out, expected, atol=1e-6)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"adain_encoder": "/nonexistent/vgg_normalised.pth"}, "AdaIN encoder weights not found"),
        ({"adain_decoder": "/nonexistent/decoder.pth"}, "AdaIN decoder weights not found"),
        ({"adain_styles": "/nonexistent/styles"}, "AdaIN style folder not found"),
        ({"adain_encoder": None}, "style-adain needs adain_encoder"),
        ({"swap": True}, "do not fit the standard layout"),
    ],
)
def test_adain_errors(weights, change, match):
    config = dict(weights)
    if change.pop("swap", False):
        config["adain_encoder"], config["adain_decoder"] = (
            config["adain_decoder"],
            config["adain_encoder"],
        )
    config.update(change)
    with pytest.raises(InputError, match=match) as info:
        parse_transform("style-adain", config=config)
    assert "\n" not in str(info.value)


def test_adain_rejects_bad_files(weights, tmp_path):
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="cannot read AdaIN encoder weights"):
        parse_transform("style-adain", config={**weights, "adain_encoder": str(broken)})
    shaped = tmp_path / "shaped.pth"
    state = vgg_normalised().state_dict()
    state["29.weight"] = torch.zeros(512, 256, 1, 1)
    torch.save(state, shaped)
    with pytest.raises(InputError, match=r"29.weight has shape \(512, 256, 1, 1\)"):
        parse_transform("style-adain", config={**weights, "adain_encoder": str(shaped)})
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="holds no images"):
        parse_transform("style-adain", config={**weights, "adain_styles": str(empty)})
