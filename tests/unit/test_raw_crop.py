"""``crop-<s>`` on an image folder crops the raw image (the k* paper's Tables IX–X).

An image folder resizes and center-crops its images on load; the paper's crop is taken
from the decoded image at its own resolution and then resized to the standard size. The
oracle below does that with numpy slicing and one PIL resize, independently of kstarlab
and of torchvision's transforms; the digits (in-memory 32 px images) keep the crop of the
model input.
"""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch
from PIL import Image

from kstarlab.cli import main
from kstarlab.latents.datasets import ImageData, TensorImages, load_digits, load_imagefolder
from kstarlab.latents.extraction import extract
from kstarlab.latents.transforms import bind_transform
from kstarlab.models import load_model
from kstarlab.perturb import parse_transform
from kstarlab.perturb.geometric import center_crop

# (width, height) of the synthetic raw images: ImageNet-like landscape and portrait shapes,
# odd margins (banker's rounding of the crop offset), and one smaller than a 300 px crop.
SIZES = [(500, 375), (375, 500), (333, 401), (300, 180)]
RESIZE, CROP = 64, 56  # the folder's usual pipeline (small, so the zoo ResNet runs fast)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Two classes of large random RGB images (JPEG-free: PNG keeps the bytes exact)."""
    root = tmp_path_factory.mktemp("raw") / "images"
    rng = np.random.default_rng(12)
    for c, name in enumerate(("cat", "dog")):
        (root / name).mkdir(parents=True)
        for i, (w, h) in enumerate(SIZES):
            pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{c}{i}.png")
    return root


def oracle(path, size: int, out: int) -> torch.Tensor:
    """Center crop ``size``×``size`` of the decoded image (zero-padded like torchvision's
    CenterCrop where the image is smaller), then a bilinear PIL resize to ``out``×``out``."""
    pixels = np.asarray(Image.open(path).convert("RGB"))
    h, w = pixels.shape[:2]
    pad_h, pad_w = max(size - h, 0), max(size - w, 0)
    pixels = np.pad(
        pixels, ((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0))
    )
    h, w = pixels.shape[:2]
    top, left = round((h - size) / 2), round((w - size) / 2)  # half to even, as torchvision
    box = pixels[top : top + size, left : left + size]
    assert box.shape == (size, size, 3)
    resized = Image.fromarray(box).resize((out, out), Image.BILINEAR)
    array = np.asarray(resized, dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


@pytest.mark.parametrize("size", [20, 220, 300, 375])
def test_raw_crop_equals_an_independent_crop_then_resize(folder, size):
    data = load_imagefolder(folder, resize=RESIZE, crop=CROP)
    raw = data.raw_center_crop(size)
    assert raw is not None and len(raw) == len(data)
    assert raw.params == {**data.params, "raw_crop": size}
    assert list(raw.labels) == list(data.labels) and raw.class_names == data.class_names
    for index, (path, _) in enumerate(data.dataset.files):
        image, _ = raw.dataset[index]
        assert image.shape == (3, CROP, CROP)
        assert torch.equal(image, oracle(path, size, CROP)), (path.name, size)


def test_the_crop_keeps_the_raw_centre_not_the_model_input(tmp_path):
    """A marker 140 px right of the centre of a 500×375 image is inside the usual
    resize-256/crop-224 view (the central 328 px) and inside a crop of that 224 px input,
    but outside the raw image's central 220 px: the paper's 220 px crop removes it."""
    root = tmp_path / "images"
    (root / "a").mkdir(parents=True)
    pixels = np.zeros((375, 500, 3), dtype=np.uint8)
    cy, cx = 375 // 2, 500 // 2
    pixels[cy - 10 : cy + 10, cx + 130 : cx + 150] = 255
    Image.fromarray(pixels).save(root / "a" / "0.png")
    data = load_imagefolder(root, resize=256, crop=224)
    clean = data.dataset[0][0]
    old_style = center_crop(clean.unsqueeze(0), 220)[0]  # the crop of the 224 px input
    raw = data.raw_center_crop(220).dataset[0][0]
    assert clean.max() > 0.9 and old_style.max() > 0.9
    assert raw.max() == 0.0


@pytest.mark.filterwarnings("ignore:the model has 10 outputs")
def test_extraction_crops_the_raw_image_and_records_it(folder, tmp_path):
    model = load_model("resnet", seed=0)
    data = load_imagefolder(folder, resize=RESIZE, crop=CROP)
    out = tmp_path / "crop.h5"
    extract(model, data, ["logit", "avgpool"], out, transform="crop-220", batch_size=3)
    # Reference: the oracle's images, in memory, through a clean extraction.
    images = torch.stack([oracle(path, 220, CROP) for path, _ in data.dataset.files])
    reference = ImageData("reference", TensorImages(images, data.labels), data.class_names)
    ref = tmp_path / "reference.h5"
    extract(model, reference, ["logit", "avgpool"], ref, batch_size=3)
    with h5py.File(out, "r") as f, h5py.File(ref, "r") as g:
        for name in ("logits", "latents/logit", "latents/avgpool", "labels", "predictions"):
            assert np.array_equal(f[name][()], g[name][()]), name
        assert f.attrs["transform"] == "crop-220"
        assert json.loads(f.attrs["transform_params"]) == {"size": 220, "applied_to": "raw image"}
        params = json.loads(f.attrs["dataset_params"])
        assert params == {"root": str(folder), "resize": RESIZE, "crop": CROP, "raw_crop": 220}
    # The old behaviour (crop of the 56 px model input) gives other features.
    with h5py.File(out, "r") as f:
        clean_input = torch.stack([data.dataset[i][0] for i in range(len(data))])
        cropped = center_crop(clean_input, 50)
        with torch.no_grad():
            old = model.module(cropped).numpy()
        assert not np.allclose(f["logits"][()], old, atol=1e-3)


def test_digits_keep_the_crop_of_their_in_memory_image(tmp_path):
    digits = load_digits("test")
    tf = parse_transform("crop-14")
    assert digits.raw_center_crop(14) is None
    bound, data = bind_transform(tf, digits)
    assert bound is tf and data is digits
    images, labels = digits.dataset.images[:8], digits.labels[:8]
    small = ImageData("digits", TensorImages(images, labels), digits.class_names)
    model = load_model("mlp", seed=0)
    out = tmp_path / "digits.h5"
    extract(model, small, ["logit"], out, transform="crop-14", batch_size=4)
    with h5py.File(out, "r") as f:
        assert json.loads(f.attrs["transform_params"]) == {"size": 14}
        assert "raw_crop" not in json.loads(f.attrs["dataset_params"])
        expected = model.module(center_crop(images, 14)).detach().numpy()
        assert np.allclose(f["logits"][()], expected, atol=1e-6)


def test_other_transforms_are_not_bound(folder):
    data = load_imagefolder(folder, resize=RESIZE, crop=CROP)
    for spec in ("rot-30", "noise-0.1", "clean"):
        tf = parse_transform(spec)
        bound, same = bind_transform(tf, data)
        assert bound is tf and same is data


def test_preview_of_a_raw_crop(folder, tmp_path, capsys):
    out = tmp_path / "preview.png"
    args = ["perturb", "--transform", "crop-100", "--dataset", "imagefolder"]
    assert main([*args, "--root", str(folder), "--preview", str(out), "--n", "2"]) == 0
    assert out.stat().st_size > 0
    assert "crop-100: wrote" in capsys.readouterr().out
