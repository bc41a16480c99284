"""Transform strings and the model-free transforms: defining properties, determinism, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kstarlab import InputError
from kstarlab.perturb import (
    CORRUPTIONS,
    FDA_IMAGES,
    Perturbation,
    PerturbConfig,
    apply_transform,
    paper_transforms,
    parse_spec,
    parse_transform,
)
from kstarlab.perturb.style import _style_amplitude, low_frequency_mask, swap_amplitude


def digits(n: int = 16) -> torch.Tensor:
    from kstarlab.latents.datasets import load_digits

    return load_digits(split="test").dataset.images[:n].clone()


def rand_images(n: int = 10, size: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "name", "family", "params"),
    [
        ("clean", "clean", "clean", {}),
        ("crop-20", "crop-20", "crop", {"size": 20}),
        ("crop-+20", "crop-20", "crop", {"size": 20}),
        ("rot-30", "rot-30", "rot", {"degrees": 30.0}),
        ("rot-30.0", "rot-30", "rot", {"degrees": 30.0}),
        ("rot--45", "rot--45", "rot", {"degrees": -45.0}),
        ("noise-0.050", "noise-0.05", "noise", {"sigma": 0.05}),
        ("noise-1", "noise-1", "noise", {"sigma": 1.0}),
        ("noise-0", "noise-0", "noise", {"sigma": 0.0}),
        ("pgd-8", "pgd-8", "pgd", {"eps_255": 8.0, "epsilon": 8 / 255, "norm": "linf"}),
        ("pgd-0.5", "pgd-0.5", "pgd", {"eps_255": 0.5, "epsilon": 0.5 / 255, "norm": "linf"}),
        ("corrupt-fog-3", "corrupt-fog-3", "corrupt", {"corruption": "fog", "severity": 3}),
        (
            "corrupt-gaussian-noise-1",
            "corrupt-gaussian_noise-1",
            "corrupt",
            {"corruption": "gaussian_noise", "severity": 1},
        ),
        ("style-adain", "style-adain", "style-adain", {"method": "adain", "alpha": 1.0}),
        ("style-adain-0.50", "style-adain-0.5", "style-adain", {"method": "adain", "alpha": 0.5}),
    ],
)
def test_parse_canonical(text, name, family, params):
    spec = parse_spec(text)
    assert (spec.name, spec.family) == (name, family)
    assert spec.params_dict() == params
    assert parse_spec(spec.name) == spec  # the canonical name parses to itself


def test_parse_fda_names_a_proxy():
    spec = parse_spec("style-fda-china")
    assert spec.name == "style-fda-china"
    assert spec.params["beta"] == 0.1
    assert "proxy" in spec.params["method"] and "not AdaIN" in spec.params["method"]
    assert parse_spec("style-fda-china-0.2").name == "style-fda-china-0.2"
    assert parse_spec("style-fda-china-0.1").name == "style-fda-china"
    with pytest.raises(TypeError):
        spec.params["beta"] = 0.2  # read-only


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("blur-3", r"unknown transform 'blur-3'; available: clean, crop-<s>"),
        ("Clean", r"unknown transform"),
        ("", r"unknown transform"),
        ("noise", r"malformed transform 'noise': expected noise-<sigma>"),
        ("noise-abc", r"malformed transform 'noise-abc': sigma 'abc' is not a number"),
        ("noise- 0.1", r"malformed transform"),
        ("noise-nan", r"malformed transform"),
        ("noise-1e999", r"must be finite"),
        ("noise--0.1", r"sigma must be ≥ 0, got -0.1"),
        ("pgd-0", r"eps must be > 0, got 0"),
        ("pgd--2", r"eps must be > 0, got -2"),
        ("pgd-x", r"malformed transform 'pgd-x'"),
        ("crop-0", r"crop size must be at least 1"),
        ("crop-2.5", r"whole number of pixels"),
        ("rot-", r"malformed transform 'rot-'"),
        ("corrupt-blurry-3", r"unknown corruption 'blurry'; available: gaussian_noise"),
        ("corrupt-fog-6", r"severity must be an integer from 1 to 5"),
        ("corrupt-fog-0", r"severity must be an integer from 1 to 5"),
        ("corrupt-fog-x", r"severity must be an integer from 1 to 5"),
        ("corrupt-fog", r"malformed transform .corrupt-fog.: expected corrupt-<name>-<severity>"),
        ("corrupt-3", r"expected corrupt-<name>-<severity>"),
        ("style-fda-mona_lisa", r"unknown style image 'mona_lisa'; available: china"),
        ("style-fda", r"expected style-fda-<image>"),
        ("style-fda-china-0.9", r"beta must be in \(0, 0.5\]"),
        ("style-fda-china-x", r"beta 'x' is not a number"),
        ("style-adain-2", r"alpha must be in \[0, 1\]"),
        ("style-adain-x", r"alpha 'x' is not a number"),
        ("style-picasso", r"styles are style-fda-<image>"),
    ],
)
def test_parse_errors(text, match):
    with pytest.raises(InputError, match=match) as info:
        parse_spec(text)
    assert "\n" not in str(info.value)


def test_parse_rejects_non_strings():
    with pytest.raises(InputError, match="must be a string"):
        parse_spec(3)


def test_paper_grid_scales_crops():
    grid = paper_transforms(32)
    assert grid["crop"] == ["crop-3", "crop-9", "crop-14", "crop-20", "crop-26", "crop-31"]
    assert paper_transforms()["crop"][0] == "crop-20"
    assert grid["rot"][0] == "rot-30" and grid["rot"][-1] == "rot-330"
    assert len(grid["corrupt"]) == 19 * 5
    for names in grid.values():
        for text in names:
            assert parse_spec(text).name == text


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"pgd_steps": 0}, "pgd_steps must be a positive integer"),
        ({"pgd_steps": 2.5}, "pgd_steps must be a positive integer"),
        ({"pgd_rel_stepsize": 0}, "pgd_rel_stepsize must be a number > 0"),
        ({"pgd_random_start": "yes"}, "pgd_random_start must be true or false"),
        ({"pgd_chunk": 0}, "pgd_chunk must be a positive integer"),
        ({"adain_encoder": 3}, "adain_encoder must be a path"),
        ({"steps": 3}, "unknown perturbation setting 'steps'"),
    ],
)
def test_config_errors(kwargs, match):
    with pytest.raises(InputError, match=match):
        PerturbConfig.from_dict(kwargs)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: apply_transform(np.zeros((1, 3, 32, 32)), "noise-0.1"), "torch tensor"),
        (lambda: apply_transform(torch.zeros(3, 32, 32), "noise-0.1"), r"float \(N, C, H, W\)"),
        (lambda: apply_transform(torch.zeros(1, 3, 4, 4).long(), "noise-0.1"), "float"),
        (lambda: apply_transform(torch.full((1, 3, 4, 4), 2.0), "noise-0.1"), r"lie in \[0, 1\]"),
        (lambda: apply_transform(torch.zeros(2, 3, 4, 4), "noise-0.1", indices=[0]), "2 integers"),
        (lambda: apply_transform(torch.zeros(1, 3, 4, 4), "noise-0.1", indices=[-1]), "non-neg"),
        (lambda: apply_transform(torch.zeros(1, 3, 4, 4), "noise-0.1", seed=-1), "seed"),
        (lambda: apply_transform(torch.zeros(1, 3, 32, 32), "crop-40"), "crop size 40 is larger"),
        (lambda: apply_transform(torch.zeros(1, 3, 16, 16), "corrupt-fog-1"), "at least 32×32"),
        (lambda: apply_transform(torch.zeros(1, 3, 32, 32), "pgd-8"), "needs the model"),
        (lambda: apply_transform(torch.zeros(1, 3, 32, 32), "style-adain"), "needs adain_encoder"),
        (
            lambda: apply_transform(
                torch.zeros(1, 3, 32, 32), "pgd-8", model=torch.nn.Flatten(), labels=None
            ),
            "needs the true labels",
        ),
    ],
)
def test_apply_errors(call, match):
    with pytest.raises(InputError, match=match) as info:
        call()
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- properties


@pytest.mark.parametrize("text", ["clean", "rot-0", "rot-360", "rot-720", "noise-0", "crop-32"])
def test_identities(text):
    x = digits(8)
    out, info = apply_transform(x, text, seed=3)
    assert torch.equal(out, x) and out is not x
    assert info == {}


def test_full_size_crop_identity_at_224():
    x = rand_images(2, 224)
    assert torch.equal(apply_transform(x, "crop-224")[0], x)


def test_crop_zooms_the_centre():
    x = torch.zeros(1, 3, 32, 32)
    x[..., 12:20, 12:20] = 1.0  # a centred 8×8 square
    out = apply_transform(x, "crop-16")[0]
    assert out.shape == x.shape
    # the square fills the centre 16×16 of the resized image
    assert out[..., 10:22, 10:22].mean() > 0.9
    assert out[..., :6, :].max() < 0.05


def test_rotation_matches_rot90_and_is_counter_clockwise():
    x = rand_images(3)
    ccw = torch.rot90(x, 1, dims=(-2, -1))  # counter-clockwise, as numpy's rot90
    assert torch.allclose(apply_transform(x, "rot-90")[0], ccw, atol=1e-6)
    assert torch.allclose(apply_transform(x, "rot-180")[0], torch.rot90(x, 2, (-2, -1)), atol=1e-6)
    assert torch.allclose(apply_transform(x, "rot--90")[0], apply_transform(x, "rot-270")[0])
    # a dot right of centre ends up above centre
    dot = torch.zeros(1, 3, 33, 33)
    dot[..., 16, 26] = 1.0
    out = apply_transform(dot, "rot-90")[0]
    assert out[0, 0].argmax() == 6 * 33 + 16


def test_rotation_fills_corners_with_zero():
    out = apply_transform(torch.ones(1, 3, 32, 32), "rot-45")[0]
    assert out[..., 0, 0].max() == 0 and out[..., 16, 16].min() == 1


def test_noise_std_is_sigma():
    x = torch.full((4, 3, 256, 256), 0.5)
    for sigma in (0.02, 0.05):
        out, _ = apply_transform(x, f"noise-{sigma}", seed=1)
        delta = (out - x).double()
        assert delta.std().item() == pytest.approx(sigma, rel=0.01)
        assert abs(delta.mean().item()) < sigma / 100
        assert out.min() > 0 and out.max() < 1  # no clipping at these sigmas


def test_noise_is_clipped():
    out, _ = apply_transform(torch.full((2, 3, 32, 32), 0.5), "noise-1")
    assert out.min() == 0 and out.max() == 1


def test_seed_and_index_decide_the_noise():
    x = torch.full((6, 3, 8, 8), 0.5)
    a = apply_transform(x, "noise-0.1", seed=0)[0]
    assert not torch.equal(a, apply_transform(x, "noise-0.1", seed=1)[0])
    assert not torch.equal(a[0], a[1])  # samples differ
    # reversing the samples and their indices reverses the output
    rev = apply_transform(x, "noise-0.1", seed=0, indices=list(range(5, -1, -1)))[0]
    assert torch.equal(rev, a.flip(0))
    # equal canonical names give equal noise
    assert torch.equal(apply_transform(x, "noise-0.100", seed=0)[0], a)


def test_fda_keeps_phase_and_takes_style_low_frequencies():
    x = digits(4)
    out, _ = apply_transform(x, "style-fda-china")
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert not torch.equal(out, x)
    # grey digits take the style's colours: their channels now differ
    assert (out[:, 0] - out[:, 2]).abs().mean() > 0.01
    # unclipped, the window's amplitude is the style's and everything else is the content's
    content = digits(2)
    mask = low_frequency_mask(32, 32, 0.1, real=True)
    style = _style_amplitude("china", 32, 32).expand(2, -1, -1, -1)
    raw = swap_amplitude(content, style, mask)
    spectrum, before = torch.fft.rfft2(raw), torch.fft.rfft2(content)
    assert torch.allclose(spectrum.abs()[..., mask], style[..., mask], rtol=1e-4, atol=1e-3)
    assert torch.allclose(spectrum[..., ~mask], before[..., ~mask], atol=1e-3)
    phase_kept = torch.cos(spectrum.angle() - before.angle())[..., mask]
    assert phase_kept[before.abs()[..., mask] > 1e-2].min() > 0.999
    full = low_frequency_mask(32, 32, 0.1)
    assert full.sum() == 49 and bool(full[0, 0]) and bool(full[-3, 3]) and not bool(full[4, 0])


def test_fda_every_shipped_image_loads():
    x = digits(2)
    for image in FDA_IMAGES:
        out, _ = apply_transform(x, f"style-fda-{image}")
        assert out.shape == x.shape


def test_fda_random_uses_several_styles():
    x = torch.full((12, 3, 32, 32), 0.5)
    out = apply_transform(x, "style-fda-random", seed=0)[0]
    means = {tuple(out[i].mean(dim=(1, 2)).round(decimals=4).tolist()) for i in range(12)}
    assert len(means) > 3


def test_every_corruption_runs_on_32px_images():
    x = digits(2)
    for name in CORRUPTIONS:
        out, _ = apply_transform(x, f"corrupt-{name}-3", seed=0)
        assert out.shape == x.shape and out.dtype == x.dtype
        assert out.min() >= 0 and out.max() <= 1
        assert not torch.equal(out, x), name


def test_corruption_leaves_numpy_global_state_alone():
    np.random.seed(123)  # noqa: NPY002
    expected = np.random.random()  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    apply_transform(digits(2), "corrupt-gaussian_noise-2")
    assert np.random.random() == expected  # noqa: NPY002


def test_corruption_severity_grows():
    x = digits(8)
    for name in ("gaussian_noise", "defocus_blur", "contrast"):
        distances = [
            (apply_transform(x, f"corrupt-{name}-{s}")[0] - x).abs().mean().item() for s in (1, 5)
        ]
        assert distances[1] > distances[0], name


# --------------------------------------------------------------------------- determinism

FAMILIES = [
    "clean",
    "crop-14",
    "rot-30",
    "noise-0.1",
    "style-fda-china",
    "style-fda-random",
    "corrupt-gaussian_noise-3",
    "corrupt-glass_blur-2",
    "corrupt-impulse_noise-4",
    "corrupt-frost-5",
    "corrupt-motion_blur-3",
    "corrupt-elastic_transform-2",
]


def batched(text: str, x: torch.Tensor, batch: int, seed: int = 7) -> torch.Tensor:
    transform = parse_transform(text, seed=seed)
    parts = []
    for start in range(0, x.shape[0], batch):
        rows = torch.arange(start, min(start + batch, x.shape[0]))
        with torch.no_grad():
            parts.append(transform(x[rows], labels=None, indices=rows + 100, model=None))
    return torch.cat(parts)


@pytest.mark.parametrize("text", FAMILIES)
def test_batch_size_does_not_change_results(text):
    x = digits(15)
    full = batched(text, x, 15)
    for batch in (1, 7):
        assert torch.equal(batched(text, x, batch), full), f"batch {batch}"
    # and the same call again gives the same bytes
    assert full.numpy().tobytes() == batched(text, x, 15).numpy().tobytes()


def test_perturbation_object_protocol():
    from kstarlab.latents.transforms import Transform, resolve_transform

    transform = resolve_transform("noise-0.1", seed=2)
    assert isinstance(transform, Perturbation) and isinstance(transform, Transform)
    assert transform.name == "noise-0.1" and transform.params == {"sigma": 0.1}
    assert not transform.needs_grad and transform.summary() == {}
    pgd = parse_transform("pgd-4", config={"pgd_steps": 3})
    assert pgd.needs_grad
    assert pgd.params["steps"] == 3 and pgd.params["epsilon"] == pytest.approx(4 / 255)
    assert np.isnan(pgd.summary()["attack_success_rate"])


@pytest.mark.parametrize("shape", [(32, 32, 3), (48, 64, 3)])
def test_cached_frost_equals_the_package(shape):
    from imagecorruptions import corrupt as ic_corrupt

    from kstarlab.perturb.corrupt import _frost

    rng = np.random.default_rng(0)
    image = (rng.random(shape) * 255).astype(np.uint8)
    for severity in range(1, 6):
        for seed in range(4):
            np.random.seed(seed)  # noqa: NPY002
            expected = ic_corrupt(image, severity=severity, corruption_name="frost")
            np.random.seed(seed)  # noqa: NPY002
            assert np.array_equal(np.uint8(_frost(image, severity)), expected)
