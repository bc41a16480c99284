"""The geometric paper's figures: feature scatter, margin histograms, embedding map,
corruption similarity heatmap and accuracy against sparsity."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from kstarlab.extras import require
from kstarlab.figures import plt

MAX_LABELS = 20  # an embedding map with more entities names only its models


def angle_length_scatter(
    features: pd.DataFrame, labels: np.ndarray, class_names: Sequence[str], title: str
) -> Any:
    """Angle against length, one colour per class; misclassified samples drawn as crosses."""
    sns = require("seaborn")

    fig, ax = plt.subplots(figsize=(6, 4.5))
    palette = sns.color_palette("tab10", n_colors=max(len(class_names), 1))
    wrong = features["margin"].to_numpy() < 0
    for k, name in enumerate(class_names):
        sel = labels == k
        ax.scatter(
            features["length"][sel & ~wrong],
            features["angle"][sel & ~wrong],
            s=8,
            alpha=0.6,
            color=palette[k % len(palette)],
            label=str(name),
        )
        ax.scatter(
            features["length"][sel & wrong],
            features["angle"][sel & wrong],
            s=24,
            marker="x",
            color=palette[k % len(palette)],
        )
    ax.set_xlabel("length ‖x‖₂")
    ax.set_ylabel("angle to class direction (°)")
    ax.set_title(f"{title}  (× = misclassified, {int(wrong.sum())})")
    ax.legend(fontsize=7, markerscale=2, ncol=2, frameon=False)
    return fig


def angle_length_panels(frames: Mapping[str, pd.DataFrame], class_names: Sequence[str]) -> Any:
    """`angle_length_scatter` for several models side by side (columns label, angle,
    length, margin)."""
    sns = require("seaborn")

    names = list(frames)
    fig, axes = plt.subplots(
        1, len(names), figsize=(3.6 * len(names), 3.4), squeeze=False, sharey=True
    )
    palette = sns.color_palette("tab10", n_colors=max(len(class_names), 1))
    for ax, name in zip(axes[0], names, strict=True):
        frame = frames[name]
        labels = frame["label"].to_numpy()
        wrong = frame["margin"].to_numpy() < 0
        for k, cls in enumerate(class_names):
            sel = labels == k
            colour = palette[k % len(palette)]
            ax.scatter(
                frame["length"][sel & ~wrong],
                frame["angle"][sel & ~wrong],
                s=5,
                alpha=0.6,
                color=colour,
                label=str(cls),
            )
            ax.scatter(
                frame["length"][sel & wrong],
                frame["angle"][sel & wrong],
                s=20,
                marker="x",
                color=colour,
            )
        ax.set_title(f"{name} (× misclassified: {int(wrong.sum())})", fontsize=9)
        ax.set_xlabel("length ‖x‖₂")
    axes[0][0].set_ylabel("angle to class direction (°)")
    axes[0][-1].legend(fontsize=6, markerscale=2, ncol=2, frameon=False)
    fig.tight_layout()
    return fig


def margin_histograms(margins: Mapping[str, np.ndarray], bins: int = 40) -> Any:
    """Margin distribution per model, one panel each; negative margins are errors."""
    names = list(margins)
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        values = np.asarray(margins[name])
        ax.hist(values[np.isfinite(values)], bins=bins, color="tab:blue", alpha=0.8)
        ax.axvline(0, color="tab:red", lw=1)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("margin")
    axes[0][0].set_ylabel("samples")
    fig.tight_layout()
    return fig


def embedding_map(
    coords: pd.DataFrame,
    tree: Sequence[tuple[int, int, float]],
    groups: Mapping[str, str] | None = None,
    title: str = "",
) -> Any:
    """Entities on their 2-D map, linked by the minimum spanning tree.

    Up to ``MAX_LABELS`` entities are all named; beyond that only the ``model`` group is,
    so that the labels stay legible.
    """
    fig, ax = plt.subplots(figsize=(6, 5))
    xy = coords[["x", "y"]].to_numpy()
    for i, j, _ in tree:
        ax.plot(xy[[i, j], 0], xy[[i, j], 1], color="0.6", lw=1, zorder=1)
    kinds = [groups.get(n, "") if groups else "" for n in coords.index]
    for kind in sorted(set(kinds)):
        sel = np.array([k == kind for k in kinds])
        big = kind == "model"
        ax.scatter(
            xy[sel, 0], xy[sel, 1], s=70 if big else 40, zorder=3 if big else 2, label=kind or None
        )
    label_all = len(coords) <= MAX_LABELS
    for name, kind, (x, y) in zip(coords.index, kinds, xy, strict=True):
        if label_all or kind == "model":
            ax.annotate(
                str(name),
                (x, y),
                fontsize=7 if label_all else 9,
                fontweight="normal" if label_all else "bold",
                xytext=(3, 3),
                textcoords="offset points",
                zorder=4,
            )
    if groups:
        ax.legend(fontsize=8, frameon=False)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    return fig


def similarity_heatmap(distances: pd.DataFrame, order: Sequence[int], title: str = "") -> Any:
    """Benchmarks' distances as a heatmap, ordered by hierarchical clustering."""
    sns = require("seaborn")

    ordered = distances.iloc[list(order), list(order)]
    size = 2 + 0.35 * len(ordered)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    sns.heatmap(ordered, ax=ax, cmap="viridis_r", square=True, cbar_kws={"label": "distance"})
    ax.set_title(title)
    return fig


def accuracy_vs_sparsity(accuracy: pd.DataFrame) -> Any:
    """Accuracy of each pruned model against sparsity (columns model, sparsity, accuracy)."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for model, group in accuracy.groupby("model", sort=True):
        group = group.sort_values("sparsity")
        ax.plot(group["sparsity"], group["accuracy"], marker="o", ms=3, label=str(model))
    ax.set_xlabel("global sparsity")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8, frameon=False)
    return fig
