"""``kstarlab geometry``: error paths give one line and exit status 2."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from kstarlab.cli import main


def _latents(path, dim, transform="clean", n=30):
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as h5:
        h5.create_dataset("latents/avgpool", data=rng.normal(size=(n, dim)).astype(np.float32))
        h5.create_dataset("labels", data=np.arange(n) % 10)
        h5.create_dataset("predictions", data=np.arange(n) % 10)
        h5.attrs["transform"] = transform
    return path


def _run(capsys, *argv):
    code = main(["geometry", *argv])
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


def test_empty_corruption_list(tmp_path, capsys):
    clean = _latents(tmp_path / "clean.h5", 8)
    code, err = _run(capsys, "--model", "mlp", "--latents", str(clean), "--out-dir", str(tmp_path))
    assert code == 2 and len(err) == 1 and "at least one corrupted extraction" in err[0]


def test_model_without_linear_head(tmp_path, capsys):
    clean = _latents(tmp_path / "clean.h5", 8)
    corrupt = _latents(tmp_path / "c.h5", 8, "corrupt-contrast-2")
    code, err = _run(
        capsys,
        "--model",
        "squeezenet1_0",
        "--latents",
        str(clean),
        "--corrupted",
        str(corrupt),
        "--out-dir",
        str(tmp_path / "o"),
    )
    assert code == 2 and len(err) == 1
    assert "not a linear classifier" in err[0] and "'classifier." in err[0]


def test_features_that_do_not_match_the_head(tmp_path, capsys):
    clean = _latents(tmp_path / "clean.h5", 7)
    corrupt = _latents(tmp_path / "c.h5", 7, "corrupt-contrast-2")
    code, err = _run(
        capsys,
        "--model",
        "mlp",
        "--latents",
        str(clean),
        "--corrupted",
        str(corrupt),
        "--out-dir",
        str(tmp_path / "o"),
    )
    assert code == 2 and len(err) == 1
    assert "layer 'avgpool' have 7 dimensions" in err[0]
    assert not (tmp_path / "o" / "features.h5").exists()


@pytest.mark.parametrize("bad", ["--sparsities=a,b", "--sparsities="])
def test_bad_sparsities(tmp_path, capsys, bad):
    with pytest.raises(SystemExit) as exc:
        main(["geometry", "--model", "mlp", "--latents", "x.h5", "--out-dir", str(tmp_path), bad])
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
