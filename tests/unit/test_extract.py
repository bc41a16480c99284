"""Extraction to HDF5: the schema field by field, ImageFolder and embeddings inputs, atomic
writes under failure and kill, and the CLI's one-line errors."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from torchvision.models.feature_extraction import create_feature_extractor

from kstarlab import __version__
from kstarlab.cli import main
from kstarlab.errors import InputError
from kstarlab.kstar.engine import kstar_values
from kstarlab.latents.datasets import load_digits, load_imagefolder
from kstarlab.latents.extraction import SCHEMA_VERSION, extract, write_embeddings
from kstarlab.latents.transforms import Clean
from kstarlab.models import load_model

KSTARLAB = str(Path(sys.executable).with_name("kstarlab"))
LAYERS = ["logit", "avgpool", "stage4.block2.conv2", "stage1"]


@pytest.fixture(scope="module")
def resnet():
    return load_model("resnet", seed=0)


@pytest.fixture(scope="module")
def digits():
    return load_digits("test")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory, resnet, digits):
    path = tmp_path_factory.mktemp("extract") / "resnet" / "clean.h5"
    result = extract(
        resnet, digits, LAYERS, path, batch_size=100, pool=["stage1"], compression="lzf"
    )
    return path, result


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_schema_field_by_field(extracted, resnet, digits):
    path, result = extracted
    images = digits.dataset.images
    extractor = create_feature_extractor(
        resnet.net,
        return_nodes={"flatten": "avgpool", "layer4.1.conv2": "conv", "layer1": "stage1"},
    ).eval()
    with torch.no_grad():
        logits = resnet.module(images).numpy()
        reference = extractor((images - 0.5) / 0.5)
    with h5py.File(path, "r") as f:
        assert set(f.keys()) == {"labels", "predictions", "logits", "latents"}
        assert f["labels"].dtype == np.int64 and f["labels"].shape == (540,)
        assert np.array_equal(f["labels"][()], digits.labels)
        assert f["predictions"].dtype == np.int64
        assert np.array_equal(f["predictions"][()], logits.argmax(1))
        assert f["logits"].dtype == np.float32 and f["logits"].shape == (540, 10)
        np.testing.assert_allclose(f["logits"][()], logits, rtol=1e-5, atol=1e-5)
        assert list(f["latents"].keys()) == LAYERS  # creation order
        expected = {
            "logit": ((10,), "none", "output", "logit", logits),
            "avgpool": ((128,), "none", "fc", "input", reference["avgpool"].numpy()),
            "stage4.block2.conv2": (
                (128, 4, 4),
                "none",
                "layer4.1.conv2",
                "output",
                reference["conv"].flatten(1).numpy(),
            ),
            "stage1": (
                (16, 32, 32),
                "spatial-mean",
                "layer1",
                "output",
                reference["stage1"].mean(dim=(2, 3)).numpy(),
            ),
        }
        for name, (shape, pooling, target, kind, values) in expected.items():
            ds = f["latents"][name]
            assert ds.dtype == np.float32 and ds.shape == (540, values.shape[1]), name
            rows = ds.chunks[0]
            assert ds.chunks == (rows, values.shape[1]), name
            assert rows == 540 or rows & (rows - 1) == 0, name  # whole file or 2^k rows
            assert ds.compression == "lzf" and ds.shuffle, name
            assert tuple(ds.attrs["original_shape"]) == shape
            assert ds.attrs["pooling"] == pooling
            assert ds.attrs["target"] == target and ds.attrs["kind"] == kind
            np.testing.assert_allclose(ds[()], values, rtol=1e-4, atol=1e-5, err_msg=name)
        attrs = dict(f.attrs)
    accuracy = float(np.mean(logits.argmax(1) == digits.labels))
    assert attrs.pop("schema_version") == SCHEMA_VERSION == 1
    assert attrs.pop("model") == "resnet" and attrs.pop("arch") == "resnet"
    assert attrs.pop("model_source") == "zoo"
    assert attrs.pop("weights") == "none (random init, seed 0)"
    assert attrs.pop("weights_sha256") == ""
    assert attrs.pop("transform") == "clean" and json.loads(attrs.pop("transform_params")) == {}
    assert attrs.pop("dataset") == "digits"
    assert json.loads(attrs.pop("dataset_params")) == {"split": "test", "seed": 0, "size": 32}
    assert attrs.pop("n_samples") == 540
    assert list(attrs.pop("class_names")) == [str(d) for d in range(10)]
    assert attrs.pop("num_outputs") == 10
    assert json.loads(attrs.pop("class_map")) is None
    assert list(attrs.pop("layers")) == LAYERS
    assert json.loads(attrs.pop("layer_shapes")) == {
        "logit": [10],
        "avgpool": [128],
        "stage4.block2.conv2": [128, 4, 4],
        "stage1": [16, 32, 32],
    }
    assert json.loads(attrs.pop("layer_pooling"))["stage1"] == "spatial-mean"
    assert attrs.pop("dtype") == "float32"
    assert attrs.pop("accuracy") == pytest.approx(accuracy) == result.accuracy
    assert attrs.pop("seed") == 0 and attrs.pop("batch_size") == 100
    assert attrs.pop("compression") == "lzf"
    assert attrs.pop("torch_version") == str(torch.__version__)
    assert attrs.pop("torchvision_version") == str(torchvision.__version__)
    assert attrs.pop("h5py_version") == h5py.__version__
    assert attrs.pop("kstarlab_version") == __version__
    assert attrs == {}  # nothing unaccounted for
    assert result.n_samples == 540 and result.layer_shapes["stage1"] == (16, 32, 32)


def test_same_inputs_give_the_same_bytes(extracted, resnet, digits, tmp_path):
    path, _ = extracted
    again = tmp_path / "again.h5"
    extract(resnet, digits, LAYERS, again, batch_size=100, pool=["stage1"], compression="lzf")
    assert sha(again) == sha(path)


def test_explicit_cpu_device_gives_the_same_bytes_and_a_missing_gpu_one_line(
    extracted, resnet, digits, tmp_path, capsys
):
    path, _ = extracted
    again = tmp_path / "cpu.h5"
    extract(
        resnet,
        digits,
        LAYERS,
        again,
        batch_size=100,
        pool=["stage1"],
        compression="lzf",
        device="cpu",
    )
    assert sha(again) == sha(path)
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: the missing-device error cannot be shown")
    with pytest.raises(InputError, match="torch finds no CUDA device"):
        extract(resnet, digits, LAYERS, tmp_path / "gpu.h5", device="cuda")
    assert not (tmp_path / "gpu.h5").exists()
    argv = ["extract", "--dataset", "digits", "--model", "mlp", "--layers", "logit"]
    code = main([*argv, "--device", "cuda:0", "--out", str(tmp_path / "cli.h5")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == ["error: device 'cuda:0' requested, but torch finds no CUDA device"]
    with pytest.raises(InputError, match="invalid device 'tpu9'"):
        extract(resnet, digits, LAYERS, tmp_path / "bad.h5", device="tpu9")


def test_kstar_cli_reads_the_extracted_file(extracted, capsys, tmp_path):
    path, _ = extracted
    per_sample = tmp_path / "k.csv"
    assert main(["kstar", str(path), "--layer", "avgpool", "--per-sample", str(per_sample)]) == 0
    out = capsys.readouterr().out
    assert f"k* distribution of {path} [avgpool]" in out and "accuracy" in out
    with h5py.File(path, "r") as f:
        expected = kstar_values(f["latents/avgpool"][()], f["labels"][()])
    got = np.loadtxt(per_sample, delimiter=",", skiprows=1, usecols=2)
    np.testing.assert_allclose(got, expected)


def test_auto_compression_compresses_only_where_lzf_pays(resnet, digits, tmp_path):
    """The default: lzf for sparse (post-ReLU) maps, no filter for dense float layers,
    where lzf saves about a fifth at nine times the write cost; the values are the same."""
    from kstarlab.latents.extraction import lzf_pays

    rng = np.random.default_rng(0)
    assert not lzf_pays(rng.standard_normal((64, 512)).astype(np.float32))
    sparse = np.maximum(rng.standard_normal((64, 512)), 0).astype(np.float32)
    sparse[:, ::2] = 0
    assert lzf_pays(sparse) and not lzf_pays(np.empty((0, 4), np.float32))
    layers = ["stage1", "stage4.block2.conv2"]  # a post-ReLU map, a pre-BN convolution
    auto, lzf = tmp_path / "auto.h5", tmp_path / "lzf.h5"
    extract(resnet, digits, layers, auto)
    extract(resnet, digits, layers, lzf, compression="lzf")
    with h5py.File(auto, "r") as a, h5py.File(lzf, "r") as b:
        assert a.attrs["compression"] == "auto"
        assert a["latents/stage1"].compression == "lzf" and a["latents/stage1"].shuffle
        assert a["latents/stage4.block2.conv2"].compression is None
        for name in layers:
            np.testing.assert_array_equal(a["latents"][name][()], b["latents"][name][()])


def test_float16_and_other_compressions(resnet, digits, tmp_path):
    small = load_digits("test")
    for compression in ("gzip", "none"):
        out = tmp_path / f"{compression}.h5"
        extract(resnet, small, ["avgpool"], out, float16=True, compression=compression)
        with h5py.File(out, "r") as f:
            ds = f["latents/avgpool"]
            assert ds.dtype == np.float16 and f.attrs["dtype"] == "float16"
            assert ds.compression == (None if compression == "none" else "gzip")
            assert f["logits"].dtype == np.float32
            with torch.no_grad():
                full = resnet.module(small.dataset.images[:5])
            assert np.allclose(f["logits"][:5], full.numpy(), atol=1e-4)


def make_tree(root, classes=("bird", "cat", "dog"), per_class=3):
    rng = np.random.default_rng(1)
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return root


@pytest.mark.filterwarnings("ignore:the model has 10 outputs")
def test_unreadable_image_in_a_worker_process_is_one_clean_error(tmp_path, resnet):
    root = make_tree(tmp_path / "images", per_class=2)
    (root / "cat" / "9.png").write_bytes(b"broken")
    data = load_imagefolder(root, resize=32, crop=32)
    with pytest.raises(InputError) as info:
        extract(resnet, data, ["logit"], tmp_path / "x.h5", batch_size=2, num_workers=1)
    assert str(info.value).startswith("cannot read image ") and "9.png" in str(info.value)
    assert "\n" not in str(info.value) and not (tmp_path / "x.h5").exists()


def test_tiny_imagefolder_with_class_map(tmp_path, resnet):
    root = make_tree(tmp_path / "images")
    mapping = tmp_path / "map.json"
    groups = {"bird": [0, 1, 2], "cat": [3, 4, 5], "dog": [6, 7, 8, 9]}
    mapping.write_text(json.dumps(groups))
    data = load_imagefolder(root, resize=36, crop=32, class_map=mapping)
    out = tmp_path / "tiny.h5"
    result = extract(resnet, data, ["logit", "avgpool"], out, batch_size=4)
    with h5py.File(out, "r") as f:
        logits = f["logits"][()]
        assert list(f["labels"][()]) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
        assert list(f.attrs["class_names"]) == ["bird", "cat", "dog"]
        assert json.loads(f.attrs["class_map"]) == groups
        assert f.attrs["dataset"] == "imagefolder"
        params = json.loads(f.attrs["dataset_params"])
        assert params["resize"] == 36 and params["crop"] == 32 and params["root"] == str(root)
        # Independent rule: mean softmax probability per group, then arg-max.
        probs = np.exp(logits - logits.max(1, keepdims=True))
        probs /= probs.sum(1, keepdims=True)
        scores = np.stack([probs[:, g].mean(1) for g in groups.values()], 1)
        assert np.array_equal(f["predictions"][()], scores.argmax(1))
        assert result.accuracy == pytest.approx(np.mean(scores.argmax(1) == f["labels"][()]))
    tv = load_model("resnet18", num_classes=10)
    extract(tv, data, ["stage4.block2.conv2", "avgpool"], tmp_path / "tv.h5", batch_size=5)
    with h5py.File(tmp_path / "tv.h5", "r") as f:
        assert f["latents/stage4.block2.conv2"].attrs["original_shape"].tolist() == [512, 1, 1]
        assert f.attrs["model_source"] == "torchvision"


def test_embeddings_go_into_the_schema(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 4)).astype(np.float32), np.repeat(np.arange(3), 10)
    np.savez(tmp_path / "emb.npz", X=X, y=y, predictions=y, class_names=np.array(["a", "b", "c"]))
    out = write_embeddings(tmp_path / "emb.npz", tmp_path / "emb.h5", block_rows=7)
    with h5py.File(out, "r") as f:
        assert np.array_equal(f["latents/embedding"][()], X)
        assert np.array_equal(f["labels"][()], y) and np.array_equal(f["predictions"][()], y)
        assert f.attrs["dataset"] == "embeddings" and f.attrs["model"] == "none"
        assert list(f.attrs["class_names"]) == ["a", "b", "c"] and f.attrs["accuracy"] == 1.0
    assert main(["kstar", str(out), "--layer", "embedding"]) == 0
    assert "k* distribution" in capsys.readouterr().out
    cli_out = tmp_path / "cli.h5"
    assert (
        main(
            [
                "extract",
                "--dataset",
                "embeddings",
                "--root",
                str(tmp_path / "emb.npz"),
                "--out",
                str(cli_out),
            ]
        )
        == 0
    )
    with h5py.File(cli_out, "r") as f:
        assert list(f["latents"].keys()) == ["embedding"]


class FailingTransform(Clean):
    """Raises on the third batch, after the HDF5 file has received data."""

    def __init__(self) -> None:
        super().__init__(name="failing")
        self.calls = 0

    def __call__(self, images, **kwargs):
        self.calls += 1
        if self.calls == 3:
            raise RuntimeError("boom in batch 3")
        return images


def test_an_exception_mid_write_leaves_nothing(tmp_path, resnet, digits):
    out = tmp_path / "out" / "x.h5"
    with pytest.raises(RuntimeError, match="boom in batch 3"):
        extract(resnet, digits, ["avgpool"], out, transform=FailingTransform(), batch_size=64)
    assert not out.exists() and list(out.parent.iterdir()) == []


def _start_extraction(out: Path) -> subprocess.Popen:
    cmd = [
        KSTARLAB, "extract", "--dataset", "digits", "--split", "all", "--model", "resnet",
        "--layers", "stage1,stage2,stage3,logit", "--batch-size", "4", "--threads", "1",
        "--compression", "gzip",
        "--out", str(out),
    ]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_temp(folder: Path, proc: subprocess.Popen, timeout: float = 60.0) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        temps = [p for p in folder.glob(".*.tmp.h5") if p.stat().st_size > 0]
        if temps:
            time.sleep(0.2)  # let a few batches land in the file
            return temps
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the extraction never started writing")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killing_an_extraction_leaves_no_file(tmp_path, sig):
    out = tmp_path / "latents" / "resnet" / "clean.h5"
    out.parent.mkdir(parents=True)
    proc = _start_extraction(out)
    try:
        _wait_for_temp(out.parent, proc)
        assert proc.poll() is None, "finished before it could be killed"
        os.kill(proc.pid, sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not out.exists()
    if sig == signal.SIGTERM:  # handled: the temporary file is removed too
        assert proc.returncode == 130 and stderr.strip() == "error: interrupted"
        assert list(out.parent.iterdir()) == []
    else:  # SIGKILL cannot be handled: only the hidden temporary file may remain
        assert proc.returncode == -signal.SIGKILL
        assert all(p.name.startswith(".clean.") for p in out.parent.iterdir())


def cli_error(capsys, argv):
    """Run the CLI in-process; assert exit status 2 and one line 'error: ...'; return it."""
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.startswith("error: ") and "\n" not in err, err
    return err


def test_cli_error_paths(capsys, tmp_path):
    base = ["extract", "--dataset", "digits", "--layers", "logit"]
    out = ["--out", str(tmp_path / "o.h5")]
    err = cli_error(capsys, [*base, "--model", "resnet5", *out])
    assert "unknown model 'resnet5'" in err and "resnet50" in err and "zoo: resnet, vit, mlp" in err
    err = cli_error(
        capsys,
        ["extract", "--dataset", "digits", "--model", "mlp", "--layers", "logit,stage9", *out],
    )
    assert "unknown layer 'stage9'" in err and "aliases logit, avgpool" in err
    err = cli_error(capsys, [*base, "--model", "mlp", "--weights", str(tmp_path / "none.pt"), *out])
    assert f"weights file not found: {tmp_path / 'none.pt'}" in err
    torch.save(load_model("mlp").net.state_dict(), tmp_path / "mlp.pt")
    err = cli_error(
        capsys, [*base, "--model", "resnet", "--weights", str(tmp_path / "mlp.pt"), *out]
    )
    assert "do not match the architecture" in err
    err = cli_error(
        capsys,
        [
            *base,
            "--model",
            "mlp",
            "--weights",
            str(tmp_path / "mlp.pt"),
            "--num-classes",
            "5",
            *out,
        ],
    )
    assert "fc.weight has shape (10, 128), the model expects (5, 128)" in err
    err = cli_error(
        capsys,
        [
            "extract",
            "--dataset",
            "imagefolder",
            "--root",
            str(tmp_path / "nowhere"),
            "--model",
            "mlp",
            "--layers",
            "logit",
            *out,
        ],
    )
    assert err == f"error: dataset root does not exist: {tmp_path / 'nowhere'}"
    blocker = tmp_path / "file"
    blocker.write_text("x")
    err = cli_error(capsys, [*base, "--model", "mlp", "--out", str(blocker / "sub" / "o.h5")])
    assert "cannot create output folder" in err and str(blocker / "sub") in err
    err = cli_error(capsys, [*base, "--model", "mlp", "--transform", "blur-3", *out])
    assert "unknown transform 'blur-3'" in err or "blur" in err
    err = cli_error(capsys, [*base, "--model", "vit_b_16", *out])
    assert "needs 224×224 images" in err
    err = cli_error(capsys, ["layers", "nonet"])
    assert "unknown model 'nonet'" in err
    err = cli_error(
        capsys, ["train", "--arch", "mlp", "--regime", "sin", "--out", str(tmp_path / "m.pt")]
    )
    assert err == (
        "error: unknown regime 'sin'; available: standard, adversarial, stylized, standard+stylized"
    )
    err = cli_error(
        capsys,
        ["train", "--arch", "mlp", "--style", "style-fda-china", "--out", str(tmp_path / "m.pt")],
    )
    assert err == (
        "error: style 'style-fda-china' applies only to the regimes stylized, "
        "standard+stylized, not 'standard'"
    )
    err = cli_error(
        capsys,
        ["train", "--arch", "mlp", "--regime", "stylized", "--style", "noise-0.1", *out],
    )
    assert "the stylized regimes take the weight-free style-fda" in err
    assert not (tmp_path / "m.pt").exists()
    assert not (tmp_path / "o.h5").exists()


def test_cli_errors_through_the_real_entry_point(tmp_path):
    proc = subprocess.run(
        [
            KSTARLAB,
            "extract",
            "--dataset",
            "digits",
            "--model",
            "mlp",
            "--layers",
            "nope",
            "--out",
            str(tmp_path / "o.h5"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: unknown layer 'nope'")


def test_cli_extract_and_layers(capsys, tmp_path):
    out = tmp_path / "cli.h5"
    argv = [
        "extract",
        "--dataset",
        "digits",
        "--model",
        "mlp",
        "--layers",
        "logit,hidden1",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    assert "mlp/clean on digits: 540 images" in capsys.readouterr().out
    with h5py.File(out, "r") as f:
        assert list(f["latents"].keys()) == ["logit", "hidden1"]
    assert main(["layers", "resnet50"]) == 0
    listing = capsys.readouterr().out
    for name in (
        "stage4.block3.conv3",
        "stage3.block6.conv3",
        "stage2.block4.conv3",
        "avgpool",
        "layer4.2.add",
    ):
        assert f"  {name}" in listing
    with pytest.raises(InputError, match="is empty"):
        from kstarlab.latents.datasets import ImageData, TensorImages

        empty = ImageData("empty", TensorImages(torch.zeros(0, 3, 32, 32), []), ["a"])
        extract(load_model("mlp"), empty, ["logit"], tmp_path / "e.h5")


def test_cli_choices_match_the_library():
    from kstarlab.cli import extract as command
    from kstarlab.latents import datasets as data
    from kstarlab.latents import extraction as library

    assert command.DATASETS == data.DATASETS
    assert command.COMPRESSIONS == library.COMPRESSIONS
