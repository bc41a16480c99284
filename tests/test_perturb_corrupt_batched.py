"""The batched corruptions give the package's bytes, per sample, whatever the batch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kstarlab.perturb.corrupt_batched import BATCHED, CHANNELWISE, corrupt_batch

NAMES = sorted(BATCHED)
SEEDS = [3, 1_000_003, 2**32 - 5, 77, 123_456_789, 42]


def digits_uint8(n: int) -> np.ndarray:
    """Digits test images as kstarlab makes them (32×32×3, grey), as the corruptions see them."""
    from kstarlab.data import load_digits

    images = load_digits(split="test").dataset.images[:n]
    pixels = (images * 255.0).round_().clamp_(0, 255).to(torch.uint8)
    return pixels.permute(0, 2, 3, 1).numpy().copy()


def rgb_uint8(n: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """Random colour images: edges and channels that differ everywhere."""
    rng = np.random.default_rng(seed)
    return (rng.random((n, height, width, 3)) * 255).astype(np.uint8)


IMAGES = {
    "digits": lambda: digits_uint8(4),
    "rgb48x40": lambda: rgb_uint8(2, 48, 40),
    "rgb32": lambda: rgb_uint8(1, 32, 32, seed=1),
}


def package(x: np.ndarray, name: str, severity: int, seeds: list[int]) -> np.ndarray:
    """``imagecorruptions.corrupt`` image by image, numpy seeded per sample (as kstarlab did)."""
    from imagecorruptions import corrupt

    out = []
    for image, seed in zip(x, seeds, strict=False):
        np.random.seed(seed)  # noqa: NPY002
        kwargs = {"seed": seed} if name == "glass_blur" else {}
        out.append(corrupt(image, severity=severity, corruption_name=name, **kwargs))
    return np.stack(out)


@pytest.mark.parametrize("kind", sorted(IMAGES))
@pytest.mark.parametrize("name", NAMES)
def test_batched_equals_the_package(name, kind):
    x = IMAGES[kind]()
    for severity in range(1, 6):
        seeds = SEEDS[: len(x)]
        expected = package(x, name, severity, seeds)
        got = corrupt_batch(x.copy(), name, severity, seeds)
        assert got.dtype == np.uint8 and got.shape == x.shape
        assert np.array_equal(got, expected), f"{name}-{severity} on {kind}"


def test_grey_shortcut_is_taken_only_for_grey_batches():
    grey = digits_uint8(2)
    assert set(CHANNELWISE) <= set(BATCHED)
    coloured = grey.copy()
    coloured[0, 5, 5, 1] ^= 1  # one channel of one pixel differs: no shortcut
    for name in sorted(CHANNELWISE):
        a = corrupt_batch(grey.copy(), name, 3, SEEDS[:2])
        b = corrupt_batch(coloured.copy(), name, 3, SEEDS[:2])
        assert np.array_equal(a, package(grey, name, 3, SEEDS[:2]))
        assert np.array_equal(b, package(coloured, name, 3, SEEDS[:2]))


@pytest.mark.parametrize("name", NAMES)
def test_batch_size_and_global_state(name):
    from kstarlab.perturb import parse_transform
    from kstarlab.perturb.core import sample_seeds
    from kstarlab.perturb.corrupt import corrupt

    x = torch.from_numpy(rgb_uint8(5, 32, 36, seed=2)).permute(0, 3, 1, 2).float() / 255
    text = f"corrupt-{name}-3"
    transform = parse_transform(text, seed=4)
    rows = torch.arange(5)
    np.random.seed(11)  # noqa: NPY002
    state = np.random.get_state()  # noqa: NPY002
    with torch.no_grad():
        full = transform(x, labels=None, indices=rows, model=None)
        parts = [
            transform(x[i : i + 2], labels=None, indices=rows[i : i + 2], model=None)
            for i in range(0, 5, 2)
        ]
    after = np.random.get_state()  # noqa: NPY002
    assert all(np.array_equal(a, b) for a, b in zip(state[1:], after[1:], strict=True))
    assert state[0] == after[0]
    assert torch.equal(torch.cat(parts), full)
    # and the per-image package path gives the same images
    seeds = sample_seeds(4, transform.name, rows)
    reference = corrupt(x, name, 3, seeds, batched=False)
    assert torch.equal(reference, full)


def test_chunks_do_not_change_results(monkeypatch):
    import kstarlab.perturb.corrupt_batched as module

    x = np.concatenate([digits_uint8(3), rgb_uint8(2, 32, 32, seed=3)])
    seeds = SEEDS[:5]
    whole = {name: corrupt_batch(x.copy(), name, 2, seeds) for name in NAMES}
    monkeypatch.setattr(module, "CHUNK", 2)  # chunks mixing grey and colour images
    for name in NAMES:
        assert np.array_equal(corrupt_batch(x.copy(), name, 2, seeds), whole[name]), name
        assert np.array_equal(whole[name], package(x, name, 2, seeds)), name
