"""A study's figures: k* distributions per cell, and k* beside 2-D projections."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

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
    samples: Sequence[str], latents: Sequence[str], study: Mapping[str, Any], seed: int, out: str
) -> None:
    """The paper's Figure 4 pairing for every cell: k* beside t-SNE, Isomap, PCA, UMAP."""
    from kstarlab.figures import plt, save_figure
    from kstarlab.io import open_latents
    from kstarlab.kstar.plots import projection_rows

    rows = []
    for path, h5, cell in zip(samples, latents, study["cells"], strict=True):
        k = pd.read_csv(path)["kstar"].to_numpy()
        with open_latents(h5, layer=cell[1]) as data:
            X = np.asarray(data.X[()])
            rows.append(
                (cell_title(cell, study["rows"]), X, np.asarray(data.y), k, data.class_names)
            )
    fig = projection_rows(rows, seed=seed)
    save_figure(fig, out, formats=(".png",))
    plt.close("all")
