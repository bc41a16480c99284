"""The k* paper's figures: per-class distributions, projections beside them, and trends."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from kstarlab.errors import InputError
from kstarlab.extras import require
from kstarlab.figures import plt
from kstarlab.kstar.summary import PATTERNS

PROJECTIONS = ("tsne", "isomap", "pca", "umap")
PATTERN_COLOURS = {"Fractured": "tab:red", "Overlapped": "tab:orange", "Clustered": "tab:green"}


def distribution_plot(k: np.ndarray, y: np.ndarray, summary: pd.DataFrame, title: str = "") -> Any:
    """Violin and boxen plots of k* per class, each class annotated with its skew γ.

    ``summary`` is `kstar_summary`'s output for the same samples (index = label).
    """
    sns = require("seaborn")

    names = [str(c) for c in summary["class"]]
    label_to_name = dict(zip(summary.index, names, strict=True))
    frame = pd.DataFrame({"k*": k, "class": [label_to_name[v] for v in np.asarray(y)]})
    height = max(3.0, 0.32 * len(names) + 1.2)
    fig, axes = plt.subplots(1, 2, figsize=(10, height), sharey=True)
    kwargs = {"data": frame, "x": "k*", "y": "class", "order": names, "color": "tab:blue"}
    sns.violinplot(ax=axes[0], cut=0, density_norm="width", inner=None, linewidth=0.6, **kwargs)
    sns.boxenplot(ax=axes[1], showfliers=False, **kwargs)
    for ax, name in zip(axes, ("violin", "boxen"), strict=True):
        ax.set_xlim(0, 1.0)
        ax.set_title(name, fontsize=9)
    for row, (_, stats) in enumerate(summary.iterrows()):
        gamma = "γ=—" if np.isnan(stats["skew"]) else f"γ={stats['skew']:+.2f}"
        axes[1].text(
            1.01,
            row,
            f"{gamma} {stats['pattern'][0]}",
            va="center",
            fontsize=7,
            transform=axes[1].get_yaxis_transform(),
        )
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def project(X: np.ndarray, method: str, *, seed: int = 0) -> np.ndarray:
    """A 2-D projection of X: t-SNE, Isomap, PCA or UMAP, seeded."""
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(X)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = min(30.0, max(2.0, (len(X) - 1) / 3))
        return TSNE(
            n_components=2, perplexity=perplexity, random_state=seed, init="pca"
        ).fit_transform(X)
    if method == "isomap":
        from sklearn.manifold import Isomap

        return Isomap(n_components=2, n_neighbors=min(10, len(X) - 1)).fit_transform(X)
    if method == "umap":
        import warnings

        umap = require("umap")

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module="umap")
            return umap.UMAP(n_components=2, random_state=seed, n_jobs=1).fit_transform(X)
    raise InputError(f"unknown projection {method!r}; choose from {', '.join(PROJECTIONS)}")


def projection_figure(
    X: np.ndarray,
    y: np.ndarray,
    k: np.ndarray,
    class_names: Sequence[str],
    *,
    methods: Sequence[str] = PROJECTIONS,
    max_points: int = 1500,
    seed: int = 0,
    title: str = "",
) -> Any:
    """The paper's Figure 4 pairing: k* per class beside 2-D projections of the same space.

    At most ``max_points`` samples (a seeded, class-stratified subset) are projected.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if len(X) > max_points:
        from sklearn.model_selection import train_test_split

        keep, _ = train_test_split(
            np.arange(len(X)), train_size=max_points, stratify=y, random_state=seed
        )
        keep = np.sort(keep)
        X, y, k = X[keep], y[keep], np.asarray(k)[keep]
    sns = require("seaborn")

    palette = sns.color_palette("tab10" if len(class_names) <= 10 else "husl", len(class_names))
    fig, axes = plt.subplots(1, len(methods) + 1, figsize=(3.2 * (len(methods) + 1), 3.4))
    jitter = np.random.default_rng(seed).uniform(-0.3, 0.3, size=len(y))  # seeded, not global
    for c in range(len(class_names)):
        sel = y == c
        axes[0].scatter(np.asarray(k)[sel], c + jitter[sel], s=2, color=palette[c])
    axes[0].set_yticks(range(len(class_names)), [str(c) for c in class_names])
    axes[0].invert_yaxis()
    axes[0].set_xlim(0, 1)
    axes[0].set_xlabel("k*")
    axes[0].set_title("k* distribution", fontsize=9)
    for ax, method in zip(axes[1:], methods, strict=True):
        xy = project(X, method, seed=seed)
        for c in range(len(class_names)):
            sel = y == c
            ax.scatter(xy[sel, 0], xy[sel, 1], s=3, color=palette[c], alpha=0.7)
        ax.set_title(method, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def trend_plot(summary: pd.DataFrame, parameter: str, *, label: str | None = None) -> Any:
    """μ, γ and the pattern counts against a transform parameter, one line per model.

    ``summary`` is tidy (one row per class) with a numeric column ``parameter`` (e.g. the
    noise sigma parsed from the transform) and columns model, mean, skew, pattern; each
    distinct ``model`` value is one series (colour in the first two panels, line style in
    the pattern counts, whose colour is the pattern's).
    """
    if parameter not in summary.columns:
        raise InputError(f"summary has no column {parameter!r} to plot against")
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (model, group) in enumerate(summary.groupby("model", sort=True)):
        colour = colours[i % len(colours)]
        per = group.groupby(parameter, sort=True)
        axes[0].plot(per["mean"].mean(), marker="o", ms=3, color=colour, label=str(model))
        axes[1].plot(per["skew"].mean(), marker="o", ms=3, color=colour, label=str(model))
        counts = group.pivot_table(
            index=parameter, columns="pattern", values="mean", aggfunc="count", fill_value=0
        )
        style = ("-", "--", ":", "-.")[i % 4]
        for pattern in PATTERNS:
            if pattern in counts:
                axes[2].plot(
                    counts.index,
                    counts[pattern],
                    style,
                    marker="o",
                    ms=3,
                    color=PATTERN_COLOURS[pattern],
                    label=f"{model}: {pattern}",
                )
    for ax, ylabel in zip(axes, ("mean k* (μ)", "skew (γ)", "classes per pattern"), strict=True):
        ax.set_xlabel(label or parameter)
        ax.set_ylabel(ylabel)
    axes[1].axhline(0.5, color="0.7", lw=0.8)
    axes[1].axhline(-0.5, color="0.7", lw=0.8)
    axes[0].legend(fontsize=7, frameon=False)
    axes[2].legend(fontsize=6, frameon=False)
    fig.tight_layout()
    return fig


def distribution_grid(panels: Sequence[tuple[str, pd.DataFrame, pd.DataFrame]]) -> Any:
    """Violin and boxen plots of k* per class for several latent spaces, one row each.

    Each panel is (title, per-sample table with ``label`` and ``kstar``, per-class table
    with ``class``, ``skew`` and ``pattern`` in label order). The skew and pattern of each
    class are written beside its boxen, as in the authors' figure.
    """
    sns = require("seaborn")

    if not panels:
        raise InputError("no k* results to plot")
    n_classes = max(len(p[2]) for p in panels)
    height = max(2.2, 0.22 * n_classes + 0.8)
    fig, axes = plt.subplots(len(panels), 2, figsize=(10, height * len(panels)), squeeze=False)
    for (title, samples, classes), (ax_v, ax_b) in zip(panels, axes, strict=True):
        names = [str(c) for c in classes["class"]]
        frame = pd.DataFrame(
            {"k*": samples["kstar"], "class": [names[v] for v in samples["label"]]}
        )
        kwargs = {"data": frame, "x": "k*", "y": "class", "order": names, "color": "tab:blue"}
        sns.violinplot(ax=ax_v, cut=0, density_norm="width", inner=None, linewidth=0.5, **kwargs)
        sns.boxenplot(ax=ax_b, showfliers=False, **kwargs)
        for ax in (ax_v, ax_b):
            ax.set_xlim(0, 1)
            ax.set_ylabel("")
        ax_v.set_title(title, fontsize=9, loc="left")
        for row, stats in enumerate(classes.itertuples()):
            gamma = "γ=—" if np.isnan(stats.skew) else f"γ={stats.skew:+.2f}"
            ax_b.text(
                1.01,
                row,
                f"{gamma} {stats.pattern[0]}",
                va="center",
                fontsize=7,
                transform=ax_b.get_yaxis_transform(),
            )
    fig.tight_layout()
    return fig


def _kept(y: np.ndarray, max_points: int, seed: int) -> np.ndarray:
    """The positions of the samples a projection keeps: all of them, or a seeded,
    class-stratified subset of ``max_points`` in their original order."""
    if len(y) <= max_points:
        return np.arange(len(y))
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(
        np.arange(len(y)), train_size=max_points, stratify=y, random_state=seed
    )
    return np.sort(keep)


def _coordinate_columns(methods: Sequence[str]) -> list[str]:
    return ["cell", "sample", "label", "kstar"] + [
        f"{method}_{axis}" for method in methods for axis in ("x", "y")
    ]


def projection_coordinates(
    rows: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray, Sequence[str] | None]],
    *,
    methods: Sequence[str] = PROJECTIONS,
    max_points: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """The 2-D projections `projection_rows` draws, as a table: one row per (cell, kept
    sample), cells in the order of ``rows``, samples in their original order.

    Each row of ``rows`` is (title, X, y, k, class names) as for `projection_rows`; the
    class names are not used here. Of a cell with more than ``max_points`` samples a
    seeded, class-stratified subset of ``max_points`` is kept. Columns: ``cell`` (the
    title), ``sample`` (the sample's position in X, y and k, before any subsampling: the
    ``index`` of the cell's per-sample k* table), ``label``, ``kstar``, then ``<method>_x``
    and ``<method>_y`` for each of ``methods`` (`project` with ``seed``, float64).
    """
    unknown = [m for m in methods if m not in PROJECTIONS]
    if unknown:
        raise InputError(f"unknown projection {unknown[0]!r}; choose from {', '.join(PROJECTIONS)}")
    frames = []
    for title, X, y, k, _ in rows:
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        k = np.asarray(k)
        if not len(X) == len(y) == len(k):
            raise InputError(
                f"{title}: {len(X)} latent vectors, {len(y)} labels and {len(k)} k* values"
            )
        keep = _kept(y, max_points, seed)
        columns: dict[str, Any] = {
            "cell": title,
            "sample": keep,
            "label": y[keep],
            "kstar": k[keep],
        }
        X = X[keep]
        for method in methods:
            xy = np.asarray(project(X, method, seed=seed), dtype=np.float64)
            columns[f"{method}_x"], columns[f"{method}_y"] = xy[:, 0], xy[:, 1]
        frames.append(pd.DataFrame(columns))
    if not frames:
        return pd.DataFrame(columns=_coordinate_columns(methods))
    return pd.concat(frames, ignore_index=True)


def projection_rows(
    rows: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray, Sequence[str] | None]],
    *,
    methods: Sequence[str] = PROJECTIONS,
    max_points: int = 1000,
    seed: int = 0,
    coordinates: pd.DataFrame | None = None,
) -> Any:
    """`projection_figure` for several latent spaces stacked as rows of one figure.

    The points drawn are `projection_coordinates` of the same arguments; pass them as
    ``coordinates`` when already computed (extra columns are ignored), so that a figure and
    the table written beside it hold the same numbers.
    """
    sns = require("seaborn")

    if coordinates is None:
        coordinates = projection_coordinates(
            rows, methods=methods, max_points=max_points, seed=seed
        )
    cells = _cells_of(coordinates, rows, max_points)
    fig, axes = plt.subplots(
        len(rows),
        len(methods) + 1,
        figsize=(3.0 * (len(methods) + 1), 3.0 * len(rows)),
        squeeze=False,
    )
    for (title, _, y, _, names), cell, ax_row in zip(rows, cells, axes, strict=True):
        names = [str(c) for c in (names or sorted(set(np.asarray(y).tolist())))]
        y = cell["label"].to_numpy()
        k = cell["kstar"].to_numpy()
        palette = sns.color_palette("tab10" if len(names) <= 10 else "husl", len(names))
        jitter = np.random.default_rng(seed).uniform(-0.3, 0.3, size=len(y))
        for c in range(len(names)):
            sel = y == c
            ax_row[0].scatter(k[sel], c + jitter[sel], s=2, color=palette[c])
        ax_row[0].set_yticks(range(len(names)), names, fontsize=7)
        ax_row[0].invert_yaxis()
        ax_row[0].set_xlim(0, 1)
        ax_row[0].set_title(f"{title}: k*", fontsize=8, loc="left")
        for ax, method in zip(ax_row[1:], methods, strict=True):
            x_, y_ = cell[f"{method}_x"].to_numpy(), cell[f"{method}_y"].to_numpy()
            for c in range(len(names)):
                sel = y == c
                ax.scatter(x_[sel], y_[sel], s=2, color=palette[c], alpha=0.7)
            ax.set_title(method, fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    return fig


def _cells_of(
    coordinates: pd.DataFrame,
    rows: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray, Sequence[str] | None]],
    max_points: int,
) -> list[pd.DataFrame]:
    """``coordinates`` cut into the blocks of ``rows``, in order (titles may repeat, so by
    position: each cell keeps min(n, ``max_points``) samples), each checked against its row."""
    sizes = [min(len(row[2]), max_points) for row in rows]
    if len(coordinates) != sum(sizes):
        raise InputError(f"{len(coordinates)} projected samples for cells that keep {sum(sizes)}")
    cells, start = [], 0
    for (title, _, y, _, _), size in zip(rows, sizes, strict=True):
        cell = coordinates.iloc[start : start + size]
        start += size
        sample = cell["sample"].to_numpy()
        y = np.asarray(y)
        if (
            not (cell["cell"] == title).all()
            or not ((sample >= 0) & (sample < len(y))).all()
            or not np.array_equal(cell["label"].to_numpy(), y[sample])
        ):
            raise InputError(f"the projected samples of {title!r} are not that cell's")
        cells.append(cell)
    return cells
