"""The names and rules shared by the library, the command line and the workflow.

Each is defined here once and imported by everything that needs it. Torch-free, so the
workflow's config check (which runs before any job) can import it cheaply.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The k* engine's distance metrics (scipy's names). The workflow writes minkowski with its
#: order, ``minkowski-<p>``.
METRICS = ("euclidean", "sqeuclidean", "cityblock", "chebyshev", "minkowski", "cosine")

#: The kinds of dataset extraction reads: the digits, an image folder, embedding files.
DATASETS = ("digits", "imagefolder", "embeddings")

#: Architectures of the embedded zoo, trained by the workflow on the digits.
ZOO_ARCHS = ("resnet", "vit", "mlp")

#: Pruning approaches of `kstarlab.pruning` (issue 14): magnitude pruning one-shot, with
#: fine-tuning and gradual; lottery tickets with rewinding; SNIP; random masks; and
#: multi-prize tickets (edge-popup scores over frozen signed weights).
APPROACHES = ("oneshot", "finetune", "gradual", "lottery", "snip", "random", "mpt")

#: Forms of pruned checkpoints users bring: a plain state dict with zeros,
#: ``torch.nn.utils.prune``'s ``weight_orig``/``weight_mask`` pairs, edge-popup ``scores``.
PRUNED_FORMS = ("plain", "torch-prune", "edge-popup")

#: Training regimes that take a style (the Stylized-ImageNet analogues).
STYLIZED_REGIMES = ("stylized", "standard+stylized")

#: Weights values meaning "no weights: a random initialisation".
NO_WEIGHTS = ("none", "random", "")

#: Keys of a model entry that the workflow trains itself (a zoo model with a ``regime``).
TRAINING_KEYS = ("regime", "epochs", "lr", "eps", "pgd_steps", "style")

#: Suffixes of the checkpoint files kstarlab loads (torch.load's formats).
WEIGHT_SUFFIXES = (".pt", ".pth", ".tar", ".ckpt", ".bin")

#: Suffixes of the embedding files Table XXI reads (NumPy archives and HDF5).
EMBEDDING_SUFFIXES = (".npz", ".h5", ".hdf5", ".hdf")

#: Suffixes of the image files an image folder dataset reads (case-insensitive).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")

#: Why the geometric features refuse a class-mapped dataset (config check and library):
#: their class direction W_y and decision boundaries are rows of the final linear layer,
#: one per model output, and a category of several outputs has no such row (its mapped
#: score, the log of a mean softmax probability, is not linear in the features).
CLASS_MAP_GEOMETRY = (
    "geometric features need one classifier row W_y per label, and a class map's "
    "categories group several outputs (their mapped decision is not linear)"
)


def is_no_weights(weights: str | None) -> bool:
    """True for a random initialisation: no value, or one of `NO_WEIGHTS` (any case)."""
    return weights is None or str(weights).strip().lower() in NO_WEIGHTS


def looks_like_path(value: str | os.PathLike[str]) -> bool:
    """A weights value naming a file (a folder in it, or a checkpoint suffix in any case),
    rather than a torchvision weights enum name such as ``IMAGENET1K_V2``."""
    text = str(value)
    return "/" in text or os.sep in text or text.lower().endswith(WEIGHT_SUFFIXES)


def looks_like_weights_name(value: str) -> bool:
    """A bare word that is no file and no path: a torchvision weights enum name."""
    return not looks_like_path(value) and not is_no_weights(value) and not Path(value).exists()


#: The style of a stylized regime without one: a random real image per sample.
DEFAULT_STYLE = "style-fda-random"
