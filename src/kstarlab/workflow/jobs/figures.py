"""A study's figures: k* distributions per cell, and k* beside 2-D projections."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from kstarlab.kstar.tables import KEYS
from kstarlab.workflow.jobs.summaries import cell_title


def study_distributions(
    samples: Sequence[str], classes: Sequence[str], study: Mapping[str, Any], out: str
) -> None:
    """k* per class as violin and boxen plots, one row per cell of the study's grid, from
    each cell's per-sample and per-class tables (``samples``, ``classes``: grid order)."""
    from kstarlab.figures import save_figure
    from kstarlab.kstar.plots import distribution_grid

    panels = []
    for per_sample, per_class, cell in zip(samples, classes, study["cells"], strict=True):
        panels.append(
            (
                cell_title(cell, study["rows"]),
                pd.read_csv(per_sample),
                pd.read_csv(per_class, dtype={"class": str}),
            )
        )
    save_figure(distribution_grid(panels), out, formats=(".png",))


def study_projections(
    samples: Sequence[str],
    latents: Sequence[str],
    study: Mapping[str, Any],
    seed: int,
    out: str,
    coordinates_out: str,
) -> None:
    """The paper's Figure 4 pairing for every cell: k* beside t-SNE, Isomap, PCA, UMAP.

    The figure goes to ``out``, its points to ``coordinates_out``: `projection_coordinates`
    with each cell's model, layer, transform and metric after its title ``cell``, so that
    ``sample`` joins the cell's per-sample k* table (its ``index``).
    """
    from kstarlab.figures import plt, save_figure
    from kstarlab.io import open_latents, write_csv
    from kstarlab.kstar.plots import projection_coordinates, projection_rows

    rows, frames = [], []
    for path, h5, cell in zip(samples, latents, study["cells"], strict=True):
        k = pd.read_csv(path)["kstar"].to_numpy()
        with open_latents(h5, layer=cell[1]) as data:
            X = np.asarray(data.X[()])
            row = (cell_title(cell, study["rows"]), X, np.asarray(data.y), k, data.class_names)
        frame = projection_coordinates([row], seed=seed)
        for i, (key, value) in enumerate(zip(KEYS, cell, strict=True)):
            frame.insert(1 + i, key, value)
        rows.append(row)
        frames.append(frame)
    coordinates = pd.concat(frames, ignore_index=True)
    fig = projection_rows(rows, seed=seed, coordinates=coordinates)
    save_figure(fig, out, formats=(".png",))
    plt.close("all")
    write_csv(coordinates, coordinates_out, index=False, float_format="%.17g")
