"""One k* writer: ``kstarlab kstar --out --per-sample`` and the workflow's k* job write the
same bytes (`kstarlab.kstar.files`), and those bytes read back exactly."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest

from kstarlab import InputError
from kstarlab.cli import main
from kstarlab.kstar.files import kstar_file
from kstarlab.workflow import jobs
from oracle import distance_matrix, nearest_other_index, oracle_kstar

SETTINGS = {"metric": "cityblock", "dtype": "float64", "seed": 3, "bootstrap_resamples": 50}


def _data(n: int = 45):
    rng = np.random.default_rng(11)
    y = np.repeat(np.arange(3), n // 3)
    X = rng.integers(0, 6, size=(n, 4)).astype(np.float64) + y[:, None] + rng.random((n, 4))
    predictions = np.where(rng.random(n) < 0.8, y, (y + 1) % 3)
    return X, y, predictions


@pytest.fixture(params=["npz", "h5"])
def latents(request, tmp_path):
    """A latent space with predictions and class names, as .npz and as an extraction .h5."""
    X, y, predictions = _data()
    names = ["ant", "bee", "cow"]
    if request.param == "npz":
        path = tmp_path / "latents.npz"
        np.savez(path, X=X, y=y, predictions=predictions, class_names=np.array(names))
        return path, None, X, y, predictions
    path = tmp_path / "latents.h5"
    with h5py.File(path, "w") as h5:
        h5["latents/fc"] = X
        h5["latents/other"] = X[:, :2]
        h5["labels"], h5["predictions"] = y, predictions
        h5.attrs["class_names"] = names
    return path, "fc", X, y, predictions


def test_cli_and_job_write_the_same_bytes(latents, tmp_path, capsys):
    path, layer, *_ = latents
    cli = {"classes": tmp_path / "cli" / "classes.csv", "samples": tmp_path / "cli" / "s.csv"}
    job = {"classes": tmp_path / "job" / "classes.csv", "samples": tmp_path / "job" / "s.csv"}
    argv = ["kstar", str(path), "--metric", "cityblock", "--dtype", "float64"]
    argv += ["--seed", "3", "--resamples", "50"]
    argv += ["--out", str(cli["classes"]), "--per-sample", str(cli["samples"])]
    if layer:
        argv += ["--layer", layer]
    assert main(argv) == 0, capsys.readouterr().err
    jobs.kstar(str(path), layer, SETTINGS, str(job["samples"]), str(job["classes"]))
    for name in ("classes", "samples"):
        assert cli[name].read_bytes() == job[name].read_bytes(), name
    out = capsys.readouterr().out
    assert "ant" in out and "Average of classes per pattern" in out


def test_the_files_read_back_exactly(latents, tmp_path):
    """%.17g floats read back bit for bit, `nearest` is the oracle's nearest other-class
    sample (by `index`), `correct` is 0/1, and the per-class table is `kstar_summary`'s
    with the bootstrap drawn from the given seed."""
    from kstarlab.kstar.summary import kstar_summary

    path, layer, X, y, predictions = latents
    samples, classes = tmp_path / "s.csv", tmp_path / "c.csv"
    tables = kstar_file(
        path,
        layer,
        metric="cityblock",
        dtype="float64",
        resamples=50,
        seed=3,
        out_samples=samples,
        out_classes=classes,
    )
    k = oracle_kstar(X, y, "cityblock")
    read = pd.read_csv(samples)
    assert list(read.columns) == ["index", "label", "kstar", "nearest", "correct"]
    np.testing.assert_array_equal(read["kstar"].to_numpy(), k)  # exact: float64 engine
    np.testing.assert_array_equal(read["label"], y)
    np.testing.assert_array_equal(read["index"], np.arange(y.size))
    nearest = nearest_other_index(distance_matrix(X, "cityblock"), y)
    np.testing.assert_array_equal(read["nearest"], read["index"].to_numpy()[nearest])
    assert read["nearest"].dtype == np.int64
    by_index = read.set_index("index")
    assert (by_index.loc[read["nearest"], "label"].to_numpy() != read["label"]).all()
    pd.testing.assert_frame_equal(tables.samples, read, check_dtype=False)
    assert read["correct"].dtype == np.int64 and set(read["correct"]) <= {0, 1}
    np.testing.assert_array_equal(read["correct"], (predictions == y).astype(int))
    assert "True" not in samples.read_text() and "False" not in samples.read_text()

    expected = kstar_summary(
        k, y, class_names=["ant", "bee", "cow"], accuracy=predictions == y, resamples=50, seed=3
    )
    summary = pd.read_csv(classes)
    assert list(summary.columns) == list(expected.columns)
    for column in ("mean", "std", "skew", "accuracy", "skew_lo", "skew_hi"):
        np.testing.assert_array_equal(summary[column], expected[column].to_numpy(), column)
    assert list(summary["pattern_uncertain"]) == list(expected["pattern_uncertain"])
    assert list(summary["class"]) == ["ant", "bee", "cow"]
    assert tables.layer == layer
    pd.testing.assert_frame_equal(tables.summary, expected)


def test_both_files_or_neither(tmp_path):
    X, y, _ = _data(15)
    np.savez(tmp_path / "l.npz", X=X, y=y)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    classes = tmp_path / "res" / "classes.csv"
    with pytest.raises(InputError, match="cannot create output folder"):
        kstar_file(tmp_path / "l.npz", out_classes=classes, out_samples=blocker / "s.csv")
    assert not classes.exists() and list((tmp_path / "res").iterdir()) == []
    tables = kstar_file(tmp_path / "l.npz")  # no paths: nothing written
    assert list((tmp_path / "res").iterdir()) == [] and len(tables.samples) == 15
    assert "correct" not in tables.samples.columns
    assert list(tables.samples.columns) == ["index", "label", "kstar", "nearest"]


def test_predictions_of_another_shape_are_refused_by_both(tmp_path, capsys):
    X, y, predictions = _data(15)
    path = tmp_path / "l.npz"
    np.savez(path, X=X, y=y, predictions=predictions[:-1])
    with pytest.raises(InputError, match=r"predictions in .*l\.npz have shape \(14,\), labels"):
        jobs.kstar(str(path), None, SETTINGS, str(tmp_path / "s.csv"), str(tmp_path / "c.csv"))
    assert main(["kstar", str(path)]) == 2
    assert "have shape (14,)" in capsys.readouterr().err
    assert not (tmp_path / "s.csv").exists() and not (tmp_path / "c.csv").exists()
