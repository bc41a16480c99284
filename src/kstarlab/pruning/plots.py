"""Figures of the pruning comparison: the robustness lottery, the embedding map of models
and benchmarks, the per-class geometry of a pruned model against the dense one, and the
samples most fragile to pruning and corruption.

Each approach keeps one colour in every figure (`approach_colour`); the dense model is
black and drawn as a star, corrupted benchmarks are grey.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from kstarlab.figures import plt
from kstarlab.geometry.correlations import FEATURES

DENSE = "dense"
DENSE_COLOUR = "black"
BENCHMARK_COLOUR = "0.55"
MAX_BENCHMARK_LABELS = 8  # more benchmark names overlap on the map
FEATURE_LABELS = {
    "angle": "angle to class direction (°)",
    "length": "length ‖x‖₂",
    "margin": "margin (signed distance\nto the decision boundary)",
}


def approach_colour(approach: str, order: Sequence[str]) -> Any:
    """The approach's fixed colour: tab10 by its place in ``order`` (the study's
    `APPROACH_ORDER`), black for the dense model."""
    if approach == DENSE:
        return DENSE_COLOUR
    cmap = plt.get_cmap("tab10")
    index = list(order).index(approach) if approach in order else 9
    return cmap(index % 10)


def _size(sparsity: float) -> float:
    return 25.0 + 220.0 * float(sparsity) ** 2


def _legend_outside(ax: Any, handles: list | None = None, **kwargs: Any) -> None:
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0.0,
        frameon=False,
        fontsize=8,
        **kwargs,
    )


def _sparsity_handles(sparsities: Sequence[float], scale: float = 1.0) -> list:
    from matplotlib.lines import Line2D

    return [
        Line2D(
            [],
            [],
            ls="",
            marker="o",
            color="0.4",
            markersize=np.sqrt(scale * _size(s)),
            label=f"sparsity {s:g}",
        )
        for s in sorted(set(sparsities))
    ]


def lottery_plot(models: pd.DataFrame, order: Sequence[str]) -> Any:
    """Corruption accuracy against clean accuracy, one point per pruned model.

    ``models`` is `models_table` (the dense model in the first row), ``order`` the
    approaches in legend order. Points are coloured by
    approach, sized and annotated by sparsity, joined per approach in sparsity order. The
    line through the origin and the dense model (corruption/clean ratio equal to the dense
    model's) is the diagonal of no change in relative robustness: models above it won the
    robustness lottery.
    """
    from matplotlib.lines import Line2D

    dense = models.iloc[0]
    pruned = models.iloc[1:]
    clean = 100 * models["clean_accuracy"].to_numpy(dtype=np.float64)
    corrupt = 100 * models["corruption_accuracy"].to_numpy(dtype=np.float64)
    fig, ax = plt.subplots(figsize=(7.2, 5.2))
    x_lo, x_hi = clean.min(), clean.max()
    y_lo, y_hi = corrupt.min(), corrupt.max()
    pad_x = max(2.0, 0.08 * (x_hi - x_lo))
    pad_y = max(2.0, 0.08 * (y_hi - y_lo))
    xlim = (max(0.0, x_lo - pad_x), min(100.0, x_hi + pad_x))
    ylim = (max(0.0, y_lo - pad_y), min(100.0, y_hi + pad_y))
    ratio = dense["corruption_accuracy"] / dense["clean_accuracy"] if dense["clean_accuracy"] else 0
    xs = np.linspace(xlim[0], xlim[1], 200)
    ax.fill_between(xs, ratio * xs, ylim[1], color="tab:green", alpha=0.07, lw=0, zorder=0)
    ax.plot(xs, ratio * xs, color="0.3", ls="--", lw=1.2, zorder=1)
    handles = []
    for approach in order:
        group = pruned[pruned["approach"] == approach].sort_values("sparsity")
        if group.empty:
            continue
        colour = approach_colour(approach, order)
        gx = 100 * group["clean_accuracy"].to_numpy(dtype=np.float64)
        gy = 100 * group["corruption_accuracy"].to_numpy(dtype=np.float64)
        ax.plot(gx, gy, color=colour, lw=0.8, alpha=0.5, zorder=2)
        ax.scatter(
            gx,
            gy,
            s=[_size(s) for s in group["sparsity"]],
            color=colour,
            edgecolors="white",
            linewidths=0.6,
            zorder=3,
        )
        for x, y, s in zip(gx, gy, group["sparsity"], strict=True):
            ax.annotate(
                f"{s:g}",
                (x, y),
                xytext=(5, -9),
                textcoords="offset points",
                fontsize=7,
                color=colour,
                zorder=4,
            )
        handles.append(Line2D([], [], ls="", marker="o", color=colour, label=approach))
    ax.scatter(
        [clean[0]],
        [corrupt[0]],
        marker="*",
        s=320,
        color=DENSE_COLOUR,
        edgecolors="white",
        zorder=5,
    )
    handles.insert(
        0, Line2D([], [], ls="", marker="*", markersize=12, color=DENSE_COLOUR, label="dense")
    )
    handles.append(
        Line2D(
            [],
            [],
            color="0.3",
            ls="--",
            label=f"dense ratio: corruption/clean = {ratio:.3f}\n(no change in relative robustness)",
        )
    )
    handles.append(
        plt.Rectangle((0, 0), 1, 1, color="tab:green", alpha=0.15, label="lottery winners")
    )
    handles.extend(_sparsity_handles(pruned["sparsity"]))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("clean accuracy (%)")
    ax.set_ylabel("mean accuracy over corrupted benchmarks (%)")
    sparsities = ", ".join(f"{s:g}" for s in sorted(set(pruned["sparsity"])))
    ax.set_title(
        f"Robustness lottery: {len(pruned)} pruned models (sparsity {sparsities})\n"
        "above the dashed line: more robust than dense, relative to clean accuracy",
        fontsize=10,
    )
    ax.grid(alpha=0.25)
    _legend_outside(ax, handles, labelspacing=1.0)
    return fig


def embedding_plot(
    coords: pd.DataFrame,
    tree: Sequence[tuple[int, int, float]],
    names: Sequence[str],
    method: str,
    order: Sequence[str],
) -> Any:
    """The 2-D map of models and benchmarks with its minimum spanning tree.

    ``coords`` is indexed by entity with columns kind (dense, pruned, benchmark), approach,
    sparsity, benchmark, x, y; ``tree`` indexes ``names`` (the embedding's entity order);
    ``order`` lists the approaches.
    """
    from matplotlib.lines import Line2D

    fig, ax = plt.subplots(figsize=(7.6, 5.8))
    xy = coords.loc[list(names), ["x", "y"]].to_numpy(dtype=np.float64)
    for i, j, _ in tree:
        ax.plot(xy[[i, j], 0], xy[[i, j], 1], color="0.75", lw=0.9, zorder=1)
    handles = [Line2D([], [], ls="", marker="*", markersize=12, color=DENSE_COLOUR, label="dense")]
    bench = coords[coords["kind"] == "benchmark"]
    if not bench.empty:
        ax.scatter(
            bench["x"], bench["y"], s=28, marker="s", color=BENCHMARK_COLOUR, alpha=0.8, zorder=2
        )
        named = len(bench) <= MAX_BENCHMARK_LABELS
        for _, row in bench.iterrows() if named else ():
            label = str(row["benchmark"]).removeprefix("corrupt-")
            ax.annotate(
                label,
                (row["x"], row["y"]),
                xytext=(4, 3),
                textcoords="offset points",
                fontsize=5.5,
                color="0.35",
                zorder=4,
            )
        handles.append(
            Line2D(
                [],
                [],
                ls="",
                marker="s",
                color=BENCHMARK_COLOUR,
                label="dense model under\na corrupted benchmark"
                + ("" if named else "\n(named in the embedding table)"),
            )
        )
    pruned = coords[coords["kind"] == "pruned"]
    for approach in order:
        group = pruned[pruned["approach"] == approach]
        if group.empty:
            continue
        colour = approach_colour(approach, order)
        ax.scatter(
            group["x"],
            group["y"],
            s=[0.6 * _size(s) for s in group["sparsity"]],
            color=colour,
            edgecolors="white",
            linewidths=0.6,
            alpha=0.9,
            zorder=3,
        )
        handles.append(Line2D([], [], ls="", marker="o", color=colour, label=approach))
    dense = coords[coords["kind"] == DENSE]
    ax.scatter(
        dense["x"], dense["y"], marker="*", s=320, color=DENSE_COLOUR, edgecolors="white", zorder=5
    )
    handles.append(Line2D([], [], color="0.75", lw=0.9, label="minimum spanning tree"))
    handles.extend(_sparsity_handles(pruned["sparsity"], scale=0.6))
    ax.set_title(
        f"Geometric embeddings ({method}): {len(pruned)} pruned models, the dense model\n"
        f"and the dense model under {len(bench)} corrupted benchmarks",
        fontsize=10,
    )
    ax.set_xlabel(f"{method} axis 1 (arbitrary units)")
    ax.set_ylabel(f"{method} axis 2 (arbitrary units)")
    ax.set_xticks([])
    ax.set_yticks([])
    _legend_outside(ax, handles, labelspacing=1.0)
    return fig


def class_distributions(
    labels: np.ndarray,
    models: dict[str, tuple[str, Any]],
    class_names: Sequence[str],
    reason: str,
    order: Sequence[str],
) -> Any:
    """Per-class box plots of clean angle, length and margin, models side by side.

    ``models`` maps a name (the dense model first, then the compared one) to its approach
    and its per-sample features (angle, length, margin). Non-finite values (an undefined
    angle) are left out.
    """
    from matplotlib.patches import Patch

    classes = list(range(int(labels.max()) + 1))
    width = max(6.5, 0.75 * len(classes) + 3.0)
    fig, axes = plt.subplots(3, 1, figsize=(width, 8.0), sharex=True)
    names = list(models)
    box = 0.8 / len(names)
    shifts = (np.arange(len(names)) - (len(names) - 1) / 2) * box
    colours = {name: approach_colour(models[name][0], order) for name in names}
    for ax, feature in zip(axes, FEATURES, strict=True):
        for shift, name in zip(shifts, names, strict=True):
            values = np.asarray(models[name][1][feature], dtype=np.float64)
            data = []
            for k in classes:
                v = values[labels == k]
                data.append(v[np.isfinite(v)])
            colour = colours[name]
            ax.boxplot(
                data,
                positions=np.array(classes) + shift,
                widths=0.85 * box,
                patch_artist=True,
                boxprops={"facecolor": colour, "alpha": 0.35, "edgecolor": colour},
                medianprops={"color": colour, "lw": 1.5},
                whiskerprops={"color": colour},
                capprops={"color": colour},
                flierprops={"marker": ".", "markersize": 3, "markeredgecolor": colour},
                manage_ticks=False,
            )
        if feature == "margin":
            ax.axhline(0, color="tab:red", lw=0.8, ls=":")
        ax.set_ylabel(FEATURE_LABELS[feature], fontsize=9)
        ax.grid(axis="y", alpha=0.25)
    axes[-1].set_xticks(classes)
    axes[-1].set_xticklabels([str(class_names[k]) for k in classes])
    axes[-1].set_xlim(-0.6, len(classes) - 0.4)
    axes[-1].set_xlabel("class")
    handles = [
        Patch(facecolor=colours[name], alpha=0.35, edgecolor=colours[name], label=name)
        for name in names
    ]
    _legend_outside(axes[0], handles)
    fig.suptitle(
        f"Per-class geometry on clean samples: {names[-1]} against {names[0]}\n({reason})",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def fragile_samples(
    fragile: pd.DataFrame,
    images: np.ndarray | None,
    class_names: Sequence[str],
    shown: int,
    n_pruned: int,
) -> Any:
    """The images of the ``shown`` most fragile samples (`fragile_table` order) with any
    flip, titled with index, label and flips; a text figure without images or flips."""
    top = fragile[fragile["flips"] > 0].head(shown)
    if images is None or top.empty:
        fig, ax = plt.subplots(figsize=(5, 1.6))
        ax.axis("off")
        text = (
            "no images given: the fragile samples are listed in the fragile table"
            if images is None
            else "no sample flips: the dense model's correct predictions survive\n"
            "every pruned model and every corrupted benchmark"
        )
        ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=9, wrap=True)
        ax.set_title("Samples fragile to pruning and corruption", fontsize=10)
        return fig
    cols = min(4, len(top))
    rows = int(np.ceil(len(top) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.0 * cols, 2.25 * rows + 0.7), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (_, row) in zip(axes.flat, top.iterrows(), strict=False):
        image = np.clip(images[int(row["sample"])], 0.0, 1.0)
        if image.shape[0] == 1:
            ax.imshow(image[0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        else:
            ax.imshow(np.transpose(image, (1, 2, 0)), interpolation="nearest")
        ax.set_title(
            f"#{int(row['sample'])} {class_names[int(row['label'])]}\n"
            f"pruning {int(row['pruning_flips'])}/{n_pruned} · "
            f"corruption {int(row['corruption_flips'])}",
            fontsize=7.5,
        )
    fig.suptitle(
        f"The {len(top)} samples most fragile to pruning and corruption\n"
        "(flips of a correct dense prediction: pruned models wrong / benchmarks wrong)",
        fontsize=9,
    )
    fig.tight_layout()
    return fig
