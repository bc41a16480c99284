"""Every error path through the API and the CLI, the CLI's happy paths, and atomic writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from kstarlab import InputError, kstar_summary, kstar_values
from kstarlab.cli import main
from kstarlab.io import atomic_path, atomic_write

RNG = np.random.default_rng(0)
X_OK = RNG.normal(size=(12, 3))
Y_OK = np.array([0, 1, 2] * 4)


# --------------------------------------------------------------------------- the API


@pytest.mark.parametrize(
    ("X", "y", "kwargs", "match"),
    [
        (X_OK, Y_OK[:-1], {}, r"different lengths: X has 12 rows, y has 11 labels"),
        (X_OK[:, 0], Y_OK, {}, r"X must be 2-D.*shape \(12,\)"),
        (X_OK[:, :, None], Y_OK, {}, r"X must be 2-D.*shape \(12, 3, 1\)"),
        (np.empty((0, 3)), np.empty(0, dtype=int), {}, r"X is empty: shape \(0, 3\)"),
        (np.empty((12, 0)), Y_OK, {}, r"X is empty: shape \(12, 0\)"),
        (X_OK, np.zeros(12, dtype=int), {}, r"at least 2 classes, but y holds only one"),
        (X_OK, Y_OK, {"metric": "manhattan"}, r"unknown metric 'manhattan'.*cityblock"),
        (X_OK, Y_OK, {"metric": "minkowski"}, r"minkowski.*p >= 1.*p=None"),
        (X_OK, Y_OK, {"metric": "minkowski", "p": 0.5}, r"minkowski.*p >= 1.*0\.5"),
        (X_OK, Y_OK, {"metric": "minkowski", "p": float("nan")}, r"p >= 1"),
        (X_OK, Y_OK, {"metric": "minkowski", "p": "three"}, r"p >= 1"),
        (X_OK, Y_OK, {"metric": "euclidean", "p": 3}, r"p is only used with metric='minkowski'"),
        (X_OK, Y_OK + 0.5, {}, r"integer labels; y\[0\] = .*0\.5"),
        (X_OK, np.array(list("abcabcabcabc")), {}, r"integer labels"),
        (X_OK, np.where(Y_OK == 1, np.nan, Y_OK), {}, r"integer labels; y\[1\]"),
        (X_OK, Y_OK[:, None], {}, r"y must be 1-D"),
        (X_OK.astype(str), Y_OK, {}, r"X must be numeric"),
        (X_OK, Y_OK, {"dtype": "float16"}, r"dtype must be one of"),
        (X_OK, Y_OK, {"block_size": 0}, r"block_size must be a positive integer"),
        (X_OK, Y_OK, {"block_size": 2.5}, r"block_size must be a positive integer"),
        (X_OK, Y_OK, {"device": "nonsense"}, r"invalid device"),
        (X_OK, Y_OK, {"return_nearest": "yes"}, r"return_nearest must be True or False"),
    ],
)
def test_api_errors(X, y, kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        kstar_values(X, y, **kwargs)
    assert isinstance(info.value, InputError)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("metric", ["euclidean", "cityblock", "cosine"])
def test_api_non_finite_names_the_row(bad, metric):
    X = np.abs(RNG.normal(size=(30, 4))) + 1
    X[17, 2] = bad
    y = np.arange(30) % 3
    with pytest.raises(ValueError, match=r"NaN or infinity at row 17 \(column 2\)"):
        kstar_values(X, y, metric=metric, block_size=5)
    with pytest.raises(ValueError, match=r"row 17"):
        kstar_values(torch.from_numpy(X), y, metric=metric, block_size=4)


def test_api_non_finite_in_hdf5_names_the_row(tmp_path):
    X = RNG.normal(size=(30, 4))
    X[23, 0] = np.nan
    with h5py.File(tmp_path / "x.h5", "w") as fh:
        fh.create_dataset("X", data=X)
    with h5py.File(tmp_path / "x.h5", "r") as fh, pytest.raises(ValueError, match=r"at row 23"):
        kstar_values(fh["X"], np.arange(30) % 2, block_size=7)


@pytest.mark.parametrize(
    ("y", "fragment"),
    [(np.zeros(12, dtype=int), "(label 0)"), (Y_OK + 0.5, "y[0] = 0.5 ")],
)
def test_api_messages_show_plain_values(y, fragment):
    with pytest.raises(ValueError) as info:
        kstar_values(X_OK, y)
    assert fragment in str(info.value)
    assert "np." not in str(info.value)


def test_summary_message_shows_plain_values():
    with pytest.raises(ValueError, match=r"k\[1\] = 2\.0 \(use kstar_values") as info:
        kstar_summary(np.array([1.0, 2.0]), np.array([0, 1]))
    assert "np." not in str(info.value)


def test_api_cosine_zero_row():
    X = X_OK.copy()
    X[4] = 0.0
    with pytest.raises(ValueError, match=r"all-zero row 4"):
        kstar_values(X, Y_OK, metric="cosine")


# --------------------------------------------------------------------------- the CLI


def run_cli(argv, capsys):
    """(exit status, stdout, stderr) of ``kstarlab argv`` called in-process."""
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse usage errors
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_error(status, err, match):
    assert status == 2
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert err.endswith("\n")
    assert lines[0].startswith("error: ")
    assert match in lines[0], lines[0]


def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.fixture
def files(tmp_path):
    """A gallery of bad inputs, name -> (argv after 'kstar', expected message fragment)."""
    X = RNG.normal(size=(20, 3))
    y = np.arange(20) % 2
    cases = {}
    cases["missing file"] = ([tmp_path / "nope.npz"], "input file not found")
    (tmp_path / "garbage.npz").write_bytes(RNG.bytes(300))
    cases["corrupt npz"] = ([tmp_path / "garbage.npz"], "not a valid .npz archive")
    (tmp_path / "garbage.h5").write_bytes(RNG.bytes(300))
    cases["corrupt h5"] = ([tmp_path / "garbage.h5"], "not a valid HDF5 file")
    (tmp_path / "empty.h5").write_bytes(b"")
    cases["empty h5"] = ([tmp_path / "empty.h5"], "not a valid HDF5 file")
    write_npz(tmp_path / "no_y.npz", X=X, labels=y)
    cases["npz lacking y"] = ([tmp_path / "no_y.npz"], "has no array 'y' (found: X, labels)")
    write_npz(tmp_path / "no_x.npz", y=y)
    cases["npz lacking X"] = ([tmp_path / "no_x.npz"], "has no array 'X'")
    np.savez(tmp_path / "objects.npz", X=np.array([{"a": 1}], dtype=object), y=y)
    cases["npz with pickled objects"] = ([tmp_path / "objects.npz"], "not a valid .npz archive")
    with h5py.File(tmp_path / "latents.h5", "w") as fh:
        fh["latents/conv1"] = X
        fh["latents/fc"] = X
        fh["labels"] = y
    cases["unknown layer"] = (
        [tmp_path / "latents.h5", "--layer", "fc2"],
        "layer 'fc2' not in",
    )
    cases["several layers, none chosen"] = ([tmp_path / "latents.h5"], "conv1, fc")
    with h5py.File(tmp_path / "plain_no_y.h5", "w") as fh:
        fh["X"] = X
    cases["h5 lacking y"] = ([tmp_path / "plain_no_y.h5"], "has no dataset 'y' (found: X)")
    with h5py.File(tmp_path / "plain.h5", "w") as fh:
        fh["X"] = X
        fh["y"] = y
    cases["layer on plain h5"] = ([tmp_path / "plain.h5", "--layer", "fc"], "no /latents group")
    cases["layer on npz"] = (
        [write_npz(tmp_path / "ok.npz", X=X, y=y), "--layer", "fc"],
        "--layer applies to HDF5",
    )
    X_nan = X.copy()
    X_nan[7, 1] = np.nan
    cases["NaN in X"] = (
        [write_npz(tmp_path / "nan.npz", X=X_nan, y=y)],
        "NaN or infinity at row 7",
    )
    X_inf = X.copy()
    X_inf[11, 0] = np.inf
    cases["inf in X (h5)"] = ([tmp_path / "inf.h5"], "NaN or infinity at row 11")
    with h5py.File(tmp_path / "inf.h5", "w") as fh:
        fh["X"] = X_inf
        fh["y"] = y
    cases["one class"] = (
        [write_npz(tmp_path / "one.npz", X=X, y=np.zeros(20, dtype=int))],
        "at least 2 classes",
    )
    cases["lengths differ"] = (
        [write_npz(tmp_path / "len.npz", X=X, y=y[:-3])],
        "X has 20 rows, y has 17 labels",
    )
    cases["X not 2-D"] = ([write_npz(tmp_path / "1d.npz", X=X[:, 0], y=y)], "X must be 2-D")
    cases["empty X"] = (
        [write_npz(tmp_path / "emptyX.npz", X=np.empty((0, 3)), y=np.empty(0, dtype=int))],
        "X is empty",
    )
    cases["float labels"] = (
        [write_npz(tmp_path / "fl.npz", X=X, y=y + 0.25)],
        "integer labels",
    )
    cases["bad metric"] = ([tmp_path / "ok.npz", "--metric", "manhattan"], "invalid choice")
    cases["minkowski without p"] = ([tmp_path / "ok.npz", "--metric", "minkowski"], "p >= 1")
    cases["minkowski with p < 1"] = (
        [tmp_path / "ok.npz", "--metric", "minkowski", "--p", "0.5"],
        "p >= 1",
    )
    cases["p not a number"] = ([tmp_path / "ok.npz", "--p", "abc"], "invalid float value")
    cases["bad dtype"] = ([tmp_path / "ok.npz", "--dtype", "float16"], "invalid choice")
    (tmp_path / "data.csv").write_text("1,2\n")
    cases["unsupported extension"] = ([tmp_path / "data.csv"], "unsupported input")
    cases["directory"] = ([tmp_path], "not a file")
    write_npz(tmp_path / "badpred.npz", X=X, y=y, predictions=y[:5])
    cases["predictions of the wrong shape"] = ([tmp_path / "badpred.npz"], "predictions in")
    (tmp_path / "a_file").write_text("")
    cases["output under a file"] = (
        [tmp_path / "ok.npz", "--out", tmp_path / "a_file" / "out.csv"],
        "cannot create output folder",
    )
    return cases


CLI_CASES = [
    "missing file",
    "corrupt npz",
    "corrupt h5",
    "empty h5",
    "npz lacking y",
    "npz lacking X",
    "npz with pickled objects",
    "unknown layer",
    "several layers, none chosen",
    "h5 lacking y",
    "layer on plain h5",
    "layer on npz",
    "NaN in X",
    "inf in X (h5)",
    "one class",
    "lengths differ",
    "X not 2-D",
    "empty X",
    "float labels",
    "bad metric",
    "minkowski without p",
    "minkowski with p < 1",
    "p not a number",
    "bad dtype",
    "unsupported extension",
    "directory",
    "predictions of the wrong shape",
    "output under a file",
]


@pytest.mark.parametrize("case", CLI_CASES)
def test_cli_bad_input_is_one_line_and_status_2(files, case, capsys):
    argv, match = files[case]
    status, out, err = run_cli(["kstar", *argv], capsys)
    assert_one_line_error(status, err, match)
    if case != "output under a file":  # that one fails after printing the table
        assert out == ""


def test_cli_gallery_is_complete(files):
    assert sorted(files) == sorted(CLI_CASES)


def test_cli_unknown_layer_lists_the_available_layers(files, capsys):
    argv, _ = files["unknown layer"]
    status, _, err = run_cli(["kstar", *argv], capsys)
    assert status == 2
    assert "available: conv1, fc" in err


@pytest.mark.parametrize("case", ["corrupt npz", "NaN in X", "unknown layer", "one class"])
def test_cli_debug_raises_the_original_exception(files, case):
    argv, match = files[case]
    with pytest.raises(ValueError, match=match.split("(")[0].strip()):
        main(["kstar", *[str(a) for a in argv], "--debug"])
    with pytest.raises(ValueError):
        main(["--debug", "kstar", *[str(a) for a in argv]])


def console_script() -> list[str]:
    script = Path(sys.executable).parent / "kstarlab"
    return [str(script)] if script.exists() else [sys.executable, "-m", "kstarlab.cli"]


def test_subprocess_error_exit_status_and_debug_traceback(tmp_path):
    bad = tmp_path / "garbage.npz"
    bad.write_bytes(RNG.bytes(200))
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}

    plain = subprocess.run(
        [*console_script(), "kstar", str(bad)], capture_output=True, text=True, env=env, timeout=120
    )
    assert plain.returncode == 2
    assert plain.stdout == ""
    assert plain.stderr.count("\n") == 1
    assert plain.stderr.startswith("error: cannot read")
    assert "not a valid .npz archive" in plain.stderr
    assert "Traceback" not in plain.stderr

    debug = subprocess.run(
        [sys.executable, "-m", "kstarlab.cli", "kstar", str(bad), "--debug"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert debug.returncode != 0
    assert "Traceback (most recent call last)" in debug.stderr
    assert "InputError" in debug.stderr


# --------------------------------------------------------------------------- CLI happy paths


def test_cli_npz_writes_summary_and_per_sample_csv(tmp_path, capsys):
    rng = np.random.default_rng(9)
    y = np.repeat(np.arange(3), 15)
    X = rng.integers(0, 6, size=(45, 4)).astype(np.float64) + y[:, None]
    predictions = np.where(rng.random(45) < 0.8, y, (y + 1) % 3)
    names = np.array(["ant", "bee", "cow"])
    src = write_npz(tmp_path / "latents.npz", X=X, y=y, class_names=names, predictions=predictions)
    out, per_sample = tmp_path / "res" / "summary.csv", tmp_path / "res" / "samples.csv"

    status, stdout, err = run_cli(
        [
            "kstar",
            src,
            "--metric",
            "cityblock",
            "--dtype",
            "float64",
            "--out",
            out,
            "--per-sample",
            per_sample,
        ],
        capsys,
    )

    assert status == 0, err
    assert err == ""
    k = kstar_values(X, y, metric="cityblock", dtype="float64")
    expected = kstar_summary(k, y, class_names=list(names), accuracy=predictions == y)
    table = pd.read_csv(out)
    assert list(table.columns) == [
        *["class", "n", "mean", "std", "skew", "pattern", "accuracy"],
        *["skew_lo", "skew_hi", "pattern_uncertain"],
    ]
    assert list(table["class"]) == ["ant", "bee", "cow"]
    assert list(table["n"]) == [15, 15, 15]
    assert list(table["pattern"]) == list(expected["pattern"])
    for column in ("mean", "std", "skew", "accuracy", "skew_lo", "skew_hi"):
        np.testing.assert_allclose(table[column], expected[column], rtol=1e-12, err_msg=column)
    samples = pd.read_csv(per_sample)
    assert list(samples.columns) == ["index", "label", "kstar", "nearest", "correct"]
    np.testing.assert_array_equal(samples["index"], np.arange(45))
    _, nearest = kstar_values(X, y, metric="cityblock", dtype="float64", return_nearest=True)
    np.testing.assert_array_equal(samples["nearest"], nearest)
    np.testing.assert_array_equal(samples["label"], y)
    np.testing.assert_allclose(samples["kstar"], k, rtol=1e-15)
    np.testing.assert_array_equal(samples["correct"], predictions == y)
    for name in names:
        assert name in stdout
    assert "Average of classes per pattern" in stdout
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temp files


def test_cli_h5_latents_layer(tmp_path, capsys):
    rng = np.random.default_rng(2)
    y = np.arange(30) % 3
    with h5py.File(tmp_path / "lat.h5", "w") as fh:
        fh["latents/fc"] = rng.normal(size=(30, 5))
        fh["latents/conv"] = rng.normal(size=(30, 8))
        fh["labels"] = y
        fh.attrs["class_names"] = ["x", "y", "z"]
        X = fh["latents/conv"][()]
    out = tmp_path / "s.csv"
    status, stdout, err = run_cli(
        ["kstar", tmp_path / "lat.h5", "--layer", "conv", "--out", out, "--dtype", "float64"],
        capsys,
    )
    assert status == 0, err
    assert "[conv]" in stdout
    expected = kstar_summary(kstar_values(X, y, dtype="float64"), y)
    table = pd.read_csv(out)
    assert list(table["class"]) == ["x", "y", "z"]
    assert "accuracy" not in table.columns
    np.testing.assert_allclose(table["mean"], expected["mean"], rtol=1e-12)


def test_cli_plain_h5_with_minkowski(tmp_path, capsys):
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(25, 3)), np.arange(25) % 2
    with h5py.File(tmp_path / "plain.h5", "w") as fh:
        fh["X"], fh["y"] = X, y
    out = tmp_path / "s.csv"
    status, _, err = run_cli(
        ["kstar", tmp_path / "plain.h5", "--metric", "minkowski", "--p", "3", "--out", out],
        capsys,
    )
    assert status == 0, err
    expected = kstar_summary(kstar_values(X, y, metric="minkowski", p=3), y)
    np.testing.assert_allclose(pd.read_csv(out)["mean"], expected["mean"], rtol=1e-12)


def test_cli_demo_prints_ten_classes(capsys):
    status, stdout, err = run_cli(["demo"], capsys)
    assert status == 0, err
    lines = stdout.splitlines()
    assert lines[0].startswith("k* distribution of scikit-learn digits")
    header = lines[1].split()
    assert header == [
        *["class", "n", "mean", "std", "skew", "pattern"],
        *["skew_lo", "skew_hi", "pattern_uncertain"],
    ]
    rows = [line.split() for line in lines[2:12]]
    assert [r[0] for r in rows] == [str(d) for d in range(10)]
    assert sum(int(r[1]) for r in rows) == 1797
    assert all(r[5] in {"Fractured", "Overlapped", "Clustered"} for r in rows)
    assert all(float(r[6]) <= float(r[7]) and r[8] in {"True", "False"} for r in rows)
    assert lines[12] == ""
    assert "Average of classes per pattern" in stdout
    for row in rows:
        assert 0 < float(row[2]) <= 1


# --------------------------------------------------------------------------- atomic writes


def test_atomic_write_success(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    with atomic_write(target) as fh:
        fh.write("hello")
        assert not target.exists()  # nothing at the path until the block succeeds
    assert target.read_text() == "hello"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]


def test_atomic_write_exception_leaves_nothing(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError, match="boom"), atomic_write(target) as fh:
        fh.write("partial")
        raise RuntimeError("boom")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_exception_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_write(target) as fh:
        fh.write("new")
        raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_path_exception_leaves_nothing(tmp_path):
    target = tmp_path / "out.h5"
    with pytest.raises(OSError, match="disk"), atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".h5"
        with h5py.File(tmp, "w") as fh:
            fh["a"] = [1, 2]
        raise OSError("disk full")
    assert list(tmp_path.iterdir()) == []
    with atomic_path(target) as tmp, h5py.File(tmp, "w") as fh:
        fh["a"] = [1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["out.h5"]


def test_a_killed_writers_temporaries_are_removed_by_the_next_writer(tmp_path):
    """SIGKILL leaves a writer's temporary file behind; the next write of the same path
    deletes it, and never the temporaries of other outputs being written beside it."""
    stale = [tmp_path / ".noise-0.abcd_123.tmp.h5", tmp_path / ".noise-0.h5.zz9y8x7w.tmp"]
    others = [tmp_path / ".noise-0.1.abcd_123.tmp.h5", tmp_path / ".noise-0.abcd_123.tmp.csv"]
    for path in stale + others:
        path.write_bytes(b"partial")
    with atomic_path(tmp_path / "noise-0.h5") as tmp:
        tmp.write_bytes(b"complete")
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in others)
    assert (tmp_path / "noise-0.h5").read_bytes() == b"complete"
    (tmp_path / ".table.csv.q1w2e3r4.tmp").write_text("partial")
    with atomic_write(tmp_path / "table.csv") as fh:
        fh.write("a,b\n")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == sorted(
        p.name for p in others
    )


def test_cli_writes_both_outputs_or_neither(tmp_path, capsys):
    """`--out A --per-sample B` with B unwritable: exit 2 and nothing at A either."""
    y = np.repeat(np.arange(3), 5)
    X = np.arange(45, dtype=np.float64).reshape(15, 3)
    src = write_npz(tmp_path / "latents.npz", X=X, y=y)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = tmp_path / "res" / "summary.csv"
    status, _, err = run_cli(
        ["kstar", src, "--out", out, "--per-sample", blocker / "samples.csv"], capsys
    )
    assert status == 2 and err.count("\n") == 1 and "cannot create output folder" in err
    assert not out.exists()
    assert list((tmp_path / "res").iterdir()) == []


def test_atomic_paths_publish_all_or_none(tmp_path):
    from kstarlab.io import atomic_paths

    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    with pytest.raises(RuntimeError), atomic_paths(a, b) as (ta, tb):
        ta.write_text("a")
        raise RuntimeError("writing b failed")
    assert list(tmp_path.iterdir()) == []
    with atomic_paths(a, b) as (ta, tb):
        ta.write_text("a")
        tb.write_text("b")
        assert not a.exists() and not b.exists()
    assert a.read_text() == "a" and b.read_text() == "b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]


# --------------------------------------------------------------------------- failing jobs


def test_a_failing_job_is_one_line_on_the_terminal_and_a_traceback_in_its_log(tmp_path, capsys):
    from kstarlab.workflow.jobs import job_log

    log_path = tmp_path / "logs" / "job.log"
    with pytest.raises(SystemExit) as exc, job_log(str(log_path)):
        print("working")
        raise ValueError("the latents have\nno layer 'fc9'")
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert err == f"error: ValueError: the latents have no layer 'fc9' (traceback in {log_path})\n"
    text = log_path.read_text()
    assert "working" in text and "Traceback" in text and "ValueError" in text
    with pytest.raises(SystemExit), job_log(str(log_path)):
        raise InputError("latents.h5 has no layer 'fc9'")
    assert capsys.readouterr().err.startswith("error: latents.h5 has no layer 'fc9' (traceback")
    with pytest.raises(KeyboardInterrupt), job_log(str(log_path)):
        raise KeyboardInterrupt


def test_snakemake_shows_a_failing_jobs_error_once_without_traceback(tmp_path):
    """Under Snakemake the terminal gets the one line (and Snakemake's rule report)."""
    import shutil
    import subprocess
    import sys

    snakemake = shutil.which("snakemake") or str(Path(sys.executable).parent / "snakemake")
    (tmp_path / "fail.py").write_text(
        "from kstarlab.workflow.jobs import job_log\n"
        "with job_log(snakemake.log[0]):\n"
        "    raise ValueError('broken latents')\n"
    )
    (tmp_path / "Snakefile").write_text(
        "rule fail:\n    output: 'out.txt'\n    log: 'fail.log'\n    script: 'fail.py'\n"
    )
    run = subprocess.run(
        [snakemake, "--cores", "1", "--quiet", "all"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode != 0
    output = run.stdout + run.stderr
    assert output.count("error: ValueError: broken latents (traceback in fail.log)") == 1, output
    assert "Traceback" not in output, output
    assert "Traceback" in (tmp_path / "fail.log").read_text()
