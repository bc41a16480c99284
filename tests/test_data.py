"""Datasets: digits (split, pixels), ImageFolder trees, class maps and embeddings."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from sklearn.datasets import load_digits as sk_load_digits

from kstarlab.data import (
    digits_arrays,
    digits_split,
    load_dataset,
    load_digits,
    load_imagefolder,
    open_embeddings,
    read_class_map,
)
from kstarlab.errors import InputError


def make_tree(root, classes=("cat", "dog"), per_class=3, size=(40, 30)):
    """A tiny ImageFolder tree of PNG images with a distinct colour per class."""
    rng = np.random.default_rng(0)
    for c, name in enumerate(classes):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
            pixels[..., c % 3] = 255
            Image.fromarray(pixels).save(folder / f"img{i}.png")
    return root


def test_digits_images_are_upsampled_real_digits():
    data = load_digits("all")
    images = data.dataset.images
    assert images.shape == (1797, 3, 32, 32) and images.dtype == torch.float32
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0
    assert torch.equal(images[:, 0], images[:, 1]) and torch.equal(images[:, 0], images[:, 2])
    raw = sk_load_digits()
    assert np.array_equal(data.labels, raw.target)
    assert data.class_names == [str(d) for d in range(10)]
    # Bilinear upsampling keeps each 4×4 block's mean close to the original pixel/16 value.
    blocks = images[:, 0].reshape(1797, 8, 4, 8, 4).mean(dim=(2, 4)).numpy()
    assert np.corrcoef(blocks.ravel(), (raw.images / 16.0).ravel())[0, 1] > 0.97


def test_digits_split_is_stratified_disjoint_and_reproducible():
    labels = sk_load_digits().target
    train, test = digits_split(labels, seed=0)
    assert len(train) == 1257 and len(test) == 540
    assert not set(train) & set(test) and len(set(train) | set(test)) == 1797
    for c in range(10):
        share = np.mean(labels[test] == c) / np.mean(labels == c)
        assert 0.9 < share < 1.1
    again_train, again_test = digits_split(labels, seed=0)
    assert np.array_equal(train, again_train) and np.array_equal(test, again_test)
    other_train, _ = digits_split(labels, seed=1)
    assert not np.array_equal(train, other_train)
    a, b = load_digits("test", seed=0), load_digits("test", seed=0)
    assert torch.equal(a.dataset.images, b.dataset.images)
    assert np.array_equal(a.labels, labels[test])
    assert a.params == {"split": "test", "seed": 0, "size": 32}


def test_digits_errors():
    with pytest.raises(InputError, match="unknown split 'val'"):
        load_digits("val")
    with pytest.raises(InputError, match="takes no root"):
        load_dataset("digits", root="/tmp")
    with pytest.raises(InputError, match="unknown dataset 'mnist'"):
        load_dataset("mnist")


def test_imagefolder_reads_sorted_classes_resized_and_cropped(tmp_path):
    root = make_tree(tmp_path / "tree", classes=("dog", "cat", "bird"), per_class=2)
    data = load_imagefolder(root, resize=24, crop=16)
    assert data.class_names == ["bird", "cat", "dog"]
    assert data.labels.tolist() == [0, 0, 1, 1, 2, 2]
    image, label = data.dataset[2]
    assert image.shape == (3, 16, 16) and image.dtype == torch.float32 and label == 1
    assert float(image.min()) >= 0.0 and float(image.max()) <= 1.0
    assert data.params == {"root": str(root), "resize": 24, "crop": 16}
    assert data.output_groups is None


def test_imagefolder_errors_name_the_culprit(tmp_path):
    with pytest.raises(InputError, match=r"dataset root does not exist: .*missing"):
        load_imagefolder(tmp_path / "missing")
    empty_root = tmp_path / "empty"
    empty_root.mkdir()
    with pytest.raises(InputError, match="has no class folders"):
        load_imagefolder(empty_root)
    root = make_tree(tmp_path / "tree")
    (root / "zebra").mkdir()
    with pytest.raises(InputError, match=r"class folder .*zebra holds no images"):
        load_imagefolder(root)
    (root / "zebra" / "broken.jpg").write_bytes(b"not an image")
    data = load_imagefolder(root, resize=8, crop=8)
    with pytest.raises(InputError, match=r"cannot read image .*zebra/broken\.jpg"):
        data.dataset[len(data) - 1]
    with pytest.raises(InputError, match="crop 32 is larger than resize 16"):
        load_imagefolder(root, resize=16, crop=32)


def test_class_map_file_and_builtin(tmp_path):
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"cat": [281, 282], "dog": 207, "extra": [1]}))
    root = make_tree(tmp_path / "tree")
    data = load_imagefolder(root, resize=8, crop=8, class_map=mapping)
    assert data.output_groups == [[281, 282], [207]]
    assert data.params["class_map"] == str(mapping)
    with pytest.raises(InputError, match="class folder 'cow' is not in class map"):
        read_class_map(mapping, ["cat", "cow"])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"cat": ["x"], "dog": 1}))
    with pytest.raises(InputError, match="entry 'cat' must be"):
        read_class_map(bad, ["cat", "dog"])
    with pytest.raises(InputError, match="class map not found"):
        read_class_map(tmp_path / "nope.json", ["cat"])

    names = [
        "airplane", "bear", "bicycle", "bird", "boat", "bottle", "car", "cat",
        "chair", "clock", "dog", "elephant", "keyboard", "knife", "oven", "truck",
    ]  # fmt: skip
    groups = read_class_map("imagenet16", names)
    flat = [i for g in groups for i in g]
    assert len(groups) == 16 and len(flat) == len(set(flat)) and all(0 <= i < 1000 for i in flat)
    assert groups[names.index("knife")] == [499]
    assert groups[names.index("elephant")] == [385, 386]
    assert groups[names.index("oven")] == [766]
    assert len(groups[names.index("dog")]) == 109 and len(groups[names.index("bird")]) == 49


def test_embeddings_npz_and_h5(tmp_path):
    import h5py

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 5)), np.repeat(np.arange(3), 4)
    np.savez(tmp_path / "e.npz", X=X, y=y, predictions=y[::-1])
    with open_embeddings(tmp_path / "e.npz") as emb:
        assert np.array_equal(emb.X, X) and np.array_equal(emb.predictions, y[::-1])
    with h5py.File(tmp_path / "e.h5", "w") as f:
        f["X"], f["y"] = X, y
    with open_embeddings(tmp_path / "e.h5") as emb:
        assert emb.X.shape == (12, 5) and np.array_equal(emb.y, y)
    np.savez(tmp_path / "bad.npz", X=X, y=y[:5])
    with (
        pytest.raises(InputError, match=r"y has shape \(5,\), expected \(12,\)"),
        open_embeddings(tmp_path / "bad.npz"),
    ):
        pass
    np.savez(tmp_path / "bad3d.npz", X=X.reshape(12, 5, 1), y=y)
    with pytest.raises(InputError, match="X must be 2-D"), open_embeddings(tmp_path / "bad3d.npz"):
        pass


def test_digits_equal_scikit_learns_loader_and_split():
    from sklearn.model_selection import train_test_split

    images, labels, names = digits_arrays()
    sk = sk_load_digits()
    np.testing.assert_array_equal(labels, sk.target)
    assert names == [str(n) for n in sk.target_names]
    pixels = torch.from_numpy(sk.images.astype(np.float32) / 16.0).unsqueeze(1)
    up = torch.nn.functional.interpolate(pixels, size=(32, 32), mode="bilinear")
    assert torch.equal(images, up.clamp(0, 1).repeat(1, 3, 1, 1))
    index = np.arange(labels.size)
    for seed in (0, 1, 7, 123):
        train, test = train_test_split(index, test_size=0.3, stratify=labels, random_state=seed)
        assert [a.tolist() for a in digits_split(labels, seed)] == [
            sorted(train.tolist()),
            sorted(test.tolist()),
        ]


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(st.integers(min_value=2, max_value=30), min_size=2, max_size=8),
    fraction=st.sampled_from([0.2, 0.25, 0.3, 0.5]),
    seed=st.integers(min_value=0, max_value=2**31 - 1),
)
def test_stratified_split_equals_scikit_learn(counts, fraction, seed):
    from sklearn.model_selection import train_test_split

    from kstarlab.split import stratified_split

    labels = np.random.default_rng(seed).permutation(np.repeat(np.arange(len(counts)), counts))
    index = np.arange(labels.size)
    try:
        expected = train_test_split(index, test_size=fraction, stratify=labels, random_state=seed)
    except ValueError:
        with pytest.raises(ValueError, match="cannot stratify"):
            stratified_split(labels, fraction, seed)
        return
    got = stratified_split(labels, fraction, seed)
    assert [g.tolist() for g in got] == [e.tolist() for e in expected]
