"""The k* figures render from real k* values, reproducibly, with ordinary permissions."""

from __future__ import annotations

import stat

import numpy as np
import pandas as pd
import pytest

from kstarlab import kstar_summary, kstar_values
from kstarlab.errors import InputError
from kstarlab.figures import save_figure
from kstarlab.kstar.plots import distribution_plot, project, projection_figure, trend_plot


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
