"""The k* figures render from real k* values, reproducibly, with ordinary permissions."""

from __future__ import annotations

import stat

import numpy as np
import pandas as pd
import pytest

from kstarlab import kstar_summary, kstar_values
from kstarlab.errors import InputError
from kstarlab.figures import save_figure
from kstarlab.kstar import plots
from kstarlab.kstar.plots import (
    distribution_plot,
    project,
    projection_coordinates,
    projection_figure,
    projection_rows,
    trend_plot,
)


@pytest.fixture(scope="module")
def space():
    rng = np.random.default_rng(0)
    y = np.arange(150) % 3
    X = rng.normal(size=(150, 6)) + y[:, None] * 1.5
    k = kstar_values(X, y, dtype="float64")
    return X, y, k, kstar_summary(k, y, class_names=["a", "b", "c"])


def test_distribution_and_projection_figures(space, tmp_path):
    X, y, k, summary = space
    for name, make in {
        "dist": lambda: distribution_plot(k, y, summary, "t"),
        "proj": lambda: projection_figure(
            X, y, k, ["a", "b", "c"], methods=("pca", "isomap"), max_points=90
        ),
    }.items():
        one = save_figure(make(), tmp_path / "1" / name, formats=(".png",))[0]
        two = save_figure(make(), tmp_path / "2" / name, formats=(".png",))[0]
        assert one.read_bytes() == two.read_bytes()
        assert stat.S_IMODE(one.stat().st_mode) & 0o044 == 0o044  # readable by others


@pytest.mark.parametrize("method", ["pca", "tsne", "isomap", "umap"])
def test_projections_are_two_dimensional_and_seeded(space, method):
    X = space[0][:60]
    a, b = project(X, method, seed=1), project(X, method, seed=1)
    assert a.shape == (60, 2)
    np.testing.assert_array_equal(a, b)


def test_trend_plot_needs_the_parameter_column(space, tmp_path):
    _, _, _, summary = space
    rows = [summary.assign(model=m, sigma=s) for m in ("x", "y") for s in (0.1, 0.2)]
    save_figure(trend_plot(pd.concat(rows), "sigma"), tmp_path / "trend", formats=(".png",))
    assert (tmp_path / "trend.png").stat().st_size > 1000
    with pytest.raises(InputError, match="'eps'"):
        trend_plot(summary.assign(model="x"), "eps")
    with pytest.raises(InputError, match="unknown projection"):
        project(space[0], "lle")


def test_study_distributions_job_reads_the_tables_it_is_given(space, tmp_path):
    """The job takes each cell's per-sample and per-class tables as the rule passes them
    (kstarlab.paths names them): no path is derived by cutting another's name."""
    from kstarlab.workflow import jobs

    _, y, k, summary = space
    samples, classes = tmp_path / "k.csv", tmp_path / "elsewhere" / "per-class.csv"
    classes.parent.mkdir()
    pd.DataFrame({"index": np.arange(y.size), "label": y, "kstar": k}).to_csv(samples)
    summary.to_csv(classes, index=False)
    study = {"cells": [["m", "logit", "clean", "euclidean"]] * 2, "rows": ["model"]}
    out = tmp_path / "distributions.png"
    jobs.study_distributions([str(samples)] * 2, [str(classes)] * 2, study, str(out))
    assert out.stat().st_size > 1000
    with pytest.raises(ValueError):  # one per-class table per cell
        jobs.study_distributions([str(samples)] * 2, [str(classes)], study, str(out))


@pytest.fixture(scope="module")
def cells(space):
    """Two cells: the 150 samples of `space` (three classes of 50) and its first 60."""
    X, y, k, _ = space
    return [("big", X, y, k, ["a", "b", "c"]), ("small", X[:60], y[:60], k[:60], None)]


FAST = ("pca", "isomap")


def test_projection_coordinates_are_the_kept_samples(cells):
    frame = projection_coordinates(cells, methods=FAST, max_points=90, seed=2)
    assert list(frame.columns) == [
        "cell",
        "sample",
        "label",
        "kstar",
        "pca_x",
        "pca_y",
        "isomap_x",
        "isomap_y",
    ]
    assert frame["cell"].tolist() == ["big"] * 90 + ["small"] * 60  # at most max_points
    for title, _, y, k, _ in cells:
        cell = frame[frame["cell"] == title]
        sample = cell["sample"].to_numpy()
        assert (np.diff(sample) > 0).all() and sample.max() < len(y)  # in input order
        np.testing.assert_array_equal(cell["label"], y[sample])  # sample indexes the input
        np.testing.assert_array_equal(cell["kstar"], k[sample])
        assert cell["label"].value_counts().tolist() == [len(cell) // 3] * 3  # stratified
    np.testing.assert_array_equal(frame["sample"].iloc[90:], np.arange(60))  # all kept
    assert frame[["pca_x", "isomap_y"]].dtypes.tolist() == [np.float64] * 2


def test_projection_coordinates_are_seeded(cells):
    one = projection_coordinates(cells, methods=("tsne", "pca"), max_points=90, seed=2)
    pd.testing.assert_frame_equal(
        one, projection_coordinates(cells, methods=("tsne", "pca"), max_points=90, seed=2)
    )
    other = projection_coordinates(cells, methods=("pca",), max_points=90, seed=3)
    assert not np.array_equal(one["sample"].iloc[:90], other["sample"].iloc[:90])


def test_pca_coordinates_match_an_independent_pca(cells):
    """The oracle: scikit-learn's PCA, and numpy's SVD of the centred kept rows (up to the
    sign of each component), on the samples the table says were kept."""
    from sklearn.decomposition import PCA

    frame = projection_coordinates(cells, methods=("pca",), max_points=90, seed=2)
    for title, X, _, _, _ in cells:
        cell = frame[frame["cell"] == title]
        kept = X[cell["sample"].to_numpy()]
        got = cell[["pca_x", "pca_y"]].to_numpy()
        np.testing.assert_allclose(got, PCA(n_components=2).fit_transform(kept), atol=1e-12)
        centred = kept - kept.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        svd = centred @ vt[:2].T
        np.testing.assert_allclose(np.abs(got), np.abs(svd), atol=1e-10)


def test_projection_rows_draws_the_coordinates(cells, tmp_path):
    """The figure is drawn from `projection_coordinates`: given them, the same bytes; given
    another cut's, an error; an unknown method fails before any projection is computed."""
    options = {"methods": FAST, "max_points": 90, "seed": 2}
    coordinates = projection_coordinates(cells, **options)
    one = save_figure(projection_rows(cells, **options), tmp_path / "1", formats=(".png",))[0]
    two = projection_rows(cells, coordinates=coordinates.assign(model="m"), **options)
    assert one.read_bytes() == save_figure(two, tmp_path / "2", formats=(".png",))[0].read_bytes()
    for bad in (
        projection_coordinates(cells, **{**options, "max_points": 80}),
        coordinates.assign(label=coordinates["label"][::-1].to_numpy()),
    ):
        with pytest.raises(InputError, match="projected samples"):
            projection_rows(cells, coordinates=bad, **options)
    with pytest.raises(InputError, match="unknown projection 'lle'"):
        projection_coordinates(cells, methods=("pca", "lle"))
    with pytest.raises(InputError, match="60 labels"):
        projection_coordinates([("x", cells[0][1], cells[1][2], cells[0][3], None)])


def test_study_projections_job_writes_the_points_beside_the_figure(space, tmp_path, monkeypatch):
    """The job's CSV: each cell's model, layer, transform and metric after its title, and
    ``sample`` joins the cell's per-sample k* table on its ``index`` (two cells with the
    same title here: the study's rows show the model only)."""
    import h5py

    from kstarlab.workflow import jobs

    X, y, k, _ = space
    h5 = tmp_path / "latents.h5"
    with h5py.File(h5, "w") as f:
        f["latents/logit"] = X
        f["latents/penult"] = X[:, ::-1] * 2
        f["labels"] = y
        f.attrs["class_names"] = ["a", "b", "c"]
    samples = []
    for layer, shift in (("logit", 0.0), ("penult", 0.5)):
        path = tmp_path / f"{layer}.csv"
        pd.DataFrame({"index": np.arange(y.size), "label": y, "kstar": k * shift}).to_csv(
            path, index=False, float_format="%.17g"
        )
        samples.append(str(path))
    real = plots.project
    monkeypatch.setattr(plots, "project", lambda X, method, *, seed=0: real(X, "pca", seed=seed))
    study = {"cells": [["m", "logit", "clean", "euclidean"], ["m", "penult", "clean", "euclidean"]]}
    study["rows"] = ["model"]
    out, csv = tmp_path / "fig" / "projections.png", tmp_path / "fig" / "projections.csv"
    jobs.study_projections(samples, [str(h5)] * 2, study, 0, str(out), str(csv))
    assert out.stat().st_size > 1000
    frame = pd.read_csv(csv)
    keys = ["cell", "model", "layer", "transform", "metric", "sample", "label", "kstar"]
    assert list(frame.columns) == keys + [f"{m}_{a}" for m in plots.PROJECTIONS for a in "xy"]
    assert frame.groupby("layer", sort=False).size().to_dict() == {"logit": 150, "penult": 150}
    assert set(frame["cell"]) == {"m"}
    for (layer, cell), path in zip(frame.groupby("layer", sort=False), samples, strict=True):
        joined = cell.merge(pd.read_csv(path), left_on="sample", right_on="index")
        assert len(joined) == len(cell)
        np.testing.assert_array_equal(joined["label_x"], joined["label_y"])
        np.testing.assert_array_equal(joined["kstar_x"], joined["kstar_y"])  # %.17g: exact
        with h5py.File(h5) as f:
            expected = real(np.asarray(f["latents"][layer], dtype=np.float64), "pca", seed=0)
        np.testing.assert_array_equal(cell[["umap_x", "umap_y"]].to_numpy(), expected)
