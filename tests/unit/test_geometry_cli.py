"""``kstarlab geometry``: error paths give one line and exit status 2."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from kstarlab.cli import main

FILES = (("features", ".h5"), ("samples", ".csv"), ("pruning", ".csv"))


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


def test_the_command_writes_what_analyse_model_writes(tmp_path, capsys):
    """The command's files are `analyse_model`'s for the same model, latents and images."""
    from kstarlab.geometry.analysis import analyse_model
    from kstarlab.latents.datasets import load_digits
    from kstarlab.latents.extraction import extract
    from kstarlab.models.registry import load_model

    model = load_model("mlp", seed=0)  # as the command loads `--model mlp`
    data = load_digits("test")
    paths = {t: tmp_path / f"{t}.h5" for t in ("clean", "corrupt-contrast-2")}
    for transform, path in paths.items():
        extract(model, data, ["avgpool"], path, transform=transform)
    argv = ["--model", "mlp", "--latents", str(paths["clean"]), "--sparsities", "0.5"]
    argv += ["--corrupted", str(paths["corrupt-contrast-2"]), "--out-dir", str(tmp_path / "o")]
    assert main(["geometry", *argv]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Correlation of geometric features with robustness (mlp, n={len(data)})")
    ref = {name: tmp_path / "ref" / f"{name}{ext}" for name, ext in FILES}
    analyse_model(
        model,
        data.dataset.images,
        paths["clean"],
        {"corrupt-contrast-2": paths["corrupt-contrast-2"]},
        "avgpool",
        [0.5],
        ref["features"],
        ref["samples"],
        ref["pruning"],
    )
    for name in ("samples", "pruning"):
        assert (tmp_path / "o" / f"{name}.csv").read_bytes() == ref[name].read_bytes(), name
    with h5py.File(tmp_path / "o" / "features.h5") as h5:
        assert sorted(h5) == ["clean", "corrupt", "labels", "pruned"]
        assert list(h5["corrupt"]) == ["corrupt-contrast-2"]
    for line in ("corruption", "pruning"):
        assert line in out
