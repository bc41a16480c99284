"""Optional dependencies: a missing one is a one-line error naming the extra to install.

The core install (``pip install kstarlab``) holds the k* engine, extraction and the models.
Plots, perturbations, the workflow and the explorer page are extras (``pyproject.toml``):
``[plots]``, ``[perturb]``, ``[workflow]``, ``[explorer]``, or ``[all]``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from kstarlab.errors import InputError

#: The extra that provides each optional top-level module.
EXTRA_OF = {
    "matplotlib": "plots",
    "seaborn": "plots",
    "umap": "plots",
    "imagecorruptions": "perturb",
    "skimage": "perturb",
    "snakemake": "workflow",
    "dvc": "workflow",
    "plotly": "explorer",
    "playwright": "explorer",
}


def require(module: str) -> ModuleType:
    """Import ``module`` (dotted names allowed), or stop with the extra that provides it."""
    top = module.split(".", 1)[0]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".", 1)[0] != top or top not in EXTRA_OF:
            raise
        extra = EXTRA_OF[top]
        raise InputError(
            f"{top} is not installed; install the extra: pip install 'kstarlab[{extra}]'"
        ) from None
