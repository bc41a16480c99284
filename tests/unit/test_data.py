"""Datasets: digits (split, pixels), ImageFolder trees, class maps and embeddings."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_digits as sk_load_digits

from kstarlab.errors import InputError
from kstarlab.latents.datasets import (
    digits_images,
    load_dataset,
    load_digits,
    load_imagefolder,
    open_embeddings,
    read_class_map,
)
from kstarlab.latents.digits import KEYS, SPLITS, build_digits, read_digits, write_digits


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
    digits = build_digits(0)
    train, test = digits.train, digits.test
    assert len(train) == 1257 and len(test) == 540  # 30% of 1,797 rounded up, as scikit-learn
    assert not set(train) & set(test) and len(set(train) | set(test)) == 1797
    assert np.array_equal(train, np.sort(train)) and np.array_equal(test, np.sort(test))
    for c in range(10):  # each class is split 70/30 up to one image
        assert abs(np.sum(labels[test] == c) - 0.3 * np.sum(labels == c)) <= 1
    again = build_digits(0)
    assert np.array_equal(train, again.train) and np.array_equal(test, again.test)
    assert not np.array_equal(train, build_digits(1).train)
    a, b = load_digits("test", seed=0), load_digits("test", seed=0)
    assert torch.equal(a.dataset.images, b.dataset.images)
    assert np.array_equal(a.labels, labels[test])
    assert a.params == {"split": "test", "seed": 0, "size": 32}


def test_digits_sample_counts_of_the_planning_are_the_split_sizes():
    from kstarlab.workflow.plan import DIGITS_SAMPLES

    assert {split: len(build_digits(0).rows(split)) for split in SPLITS} == DIGITS_SAMPLES


def test_digits_errors():
    with pytest.raises(InputError, match="unknown split 'val'"):
        load_digits("val")
    with pytest.raises(InputError, match="takes no root"):
        load_dataset("digits", root="/tmp")
    with pytest.raises(InputError, match="unknown dataset 'mnist'"):
        load_dataset("mnist")
    with pytest.raises(InputError, match="split seed must be an integer from 0"):
        build_digits(-1)
    with pytest.raises(InputError, match="is for dataset 'digits', not 'imagefolder'"):
        load_dataset("imagefolder", root="/tmp", prepared="digits.npz")


def test_prepared_digits_file_gives_the_same_bytes_as_scikit_learn(tmp_path):
    """The data rule's file, read back, is what the in-process build gives, byte for byte,
    for every split; the same seed writes the same file bytes."""
    path = tmp_path / "digits-seed3.npz"
    written = write_digits(path, 3)
    read = read_digits(path, split_seed=3)
    built = build_digits(3)
    for key in KEYS:
        for got in (written.arrays()[key], read.arrays()[key]):
            assert got.dtype == built.arrays()[key].dtype, key
            assert got.tobytes() == built.arrays()[key].tobytes(), key
    assert read.class_names == [str(d) for d in range(10)] and read.split_seed == 3
    for split in SPLITS:
        from_file = load_digits(split, seed=3, prepared=path)
        here = load_digits(split, seed=3)
        assert from_file.dataset.images.numpy().tobytes() == here.dataset.images.numpy().tobytes()
        assert from_file.labels.tobytes() == here.labels.tobytes()
        assert (from_file.class_names, from_file.params) == (here.class_names, here.params)
    again = tmp_path / "again.npz"
    write_digits(again, 3)
    assert again.read_bytes() == path.read_bytes()


def test_reading_the_digits_file_imports_no_scikit_learn(tmp_path):
    path = tmp_path / "digits.npz"
    write_digits(path, 0)
    code = (
        "import sys; from kstarlab.latents.datasets import load_digits; "
        f"data = load_digits('train', 0, prepared={str(path)!r}); "
        "assert len(data) == 1257, len(data); "
        "assert not [m for m in sys.modules if m.split('.')[0] == 'sklearn']"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_digits_file_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match=r"digits file not found: .*nope\.npz"):
        load_digits("test", prepared=tmp_path / "nope.npz")
    path = tmp_path / "digits.npz"
    write_digits(path, 0)
    with pytest.raises(InputError, match=r"digits\.npz holds the split of seed 0, not 1"):
        load_digits("test", seed=1, prepared=path)
    not_npz = tmp_path / "not.npz"
    not_npz.write_text("digits")
    with pytest.raises(InputError, match=r"cannot read digits file .*not\.npz"):
        read_digits(not_npz)
    arrays = build_digits(0).arrays()
    partial = tmp_path / "partial.npz"
    np.savez(partial, **{k: v for k, v in arrays.items() if k != "test"})
    with pytest.raises(InputError, match=r"partial\.npz lacks test"):
        read_digits(partial)
    overlap = tmp_path / "overlap.npz"
    np.savez(overlap, **{**arrays, "test": arrays["train"][:540]})
    with pytest.raises(InputError, match=r"overlap\.npz is malformed"):
        read_digits(overlap)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(InputError, match="cannot read digits file"):
        read_digits(truncated)
    assert zipfile.is_zipfile(path)


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

    data = load_digits("all")
    sk = sk_load_digits()
    np.testing.assert_array_equal(data.labels, sk.target)
    assert data.class_names == [str(n) for n in sk.target_names]
    pixels = torch.from_numpy(sk.images.astype(np.float32) / 16.0).unsqueeze(1)
    up = torch.nn.functional.interpolate(pixels, size=(32, 32), mode="bilinear")
    assert torch.equal(data.dataset.images, up.clamp(0, 1).repeat(1, 3, 1, 1))
    assert torch.equal(digits_images(sk.images), data.dataset.images)
    index = np.arange(sk.target.size)
    for seed in (0, 1, 7, 123):
        train, test = train_test_split(index, test_size=0.3, stratify=sk.target, random_state=seed)
        digits = build_digits(seed)
        assert [digits.train.tolist(), digits.test.tolist()] == [sorted(train), sorted(test)]
