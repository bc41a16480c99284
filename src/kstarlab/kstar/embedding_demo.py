"""Demonstration embeddings for the other-domains table (the k* paper's Table XXI).

The paper's Table XXI analyses text (MASSIVE) and audio (Speech Commands) models, whose
data and weights do not ship offline. To show the same analysis on real data that does,
a small MLP is trained here on one of scikit-learn's bundled tables (wine, breast cancer,
iris) and its **logit layer** on the held-out split is the embedding, as the paper's
tables use the logit layer (Table I's ResNet-50 row equals Table III's "Logit Layer" row).
These rows are a demonstration of the method, not the paper's domains.

Deterministic: scikit-learn's stratified 70/30 ``train_test_split`` (as the digits'), feature
standardisation fitted on the train split, full-batch Adam on one CPU thread under
`kstarlab.models.training.deterministic`; the same seed gives the same bytes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from kstarlab.errors import InputError


@dataclass(frozen=True)
class Demo:
    """A scikit-learn table: its loader's name and the domain it stands for."""

    loader: str
    domain: str


#: The bundled tables a demonstration can embed (scikit-learn ships them; no download).
DEMOS = {
    "wine": Demo("load_wine", "Wine cultivar from chemical analysis (tabular)"),
    "breast_cancer": Demo("load_breast_cancer", "Breast tumour diagnosis (tabular)"),
    "iris": Demo("load_iris", "Iris species from flower measurements (tabular)"),
}
#: The architecture column of a demonstration row.
DEMO_MODEL = "MLP trained here (logit layer)"

TEST_FRACTION = 0.3  # the held-out share, as the digits' 70/30 split
HIDDEN = 32  # two hidden layers of this width
STEPS = 300  # full-batch Adam steps
LR = 1e-2
WEIGHT_DECAY = 1e-4


def check_demo(name: str) -> Demo:
    """The `Demo` called ``name``; an unknown one is a one-line `InputError`."""
    if name not in DEMOS:
        raise InputError(f"unknown demonstration {name!r}; choose from {', '.join(DEMOS)}")
    return DEMOS[name]


def demo_table(name: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features (float64), integer labels and class names of a bundled scikit-learn table."""
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, check_demo(name).loader)()
    return (
        np.asarray(bunch.data, dtype=np.float64),
        np.asarray(bunch.target, dtype=np.int64),
        [str(c) for c in bunch.target_names],
    )


def demo_embedding(name: str, seed: int = 0) -> dict[str, Any]:
    """Train the MLP on the train split of table ``name``; embed the test split.

    Returns the arrays of an embedding file: ``X`` (the test split's logits, float32),
    ``y``, ``class_names``, ``predictions`` (argmax of the logits) and, for the record,
    ``train_accuracy``.
    """
    import torch
    from sklearn.model_selection import train_test_split
    from torch import nn

    from kstarlab.models.training import deterministic

    features, labels, names = demo_table(name)
    rows = np.arange(labels.shape[0])
    train, test = (
        np.sort(i)
        for i in train_test_split(rows, test_size=TEST_FRACTION, stratify=labels, random_state=seed)
    )
    mean = features[train].mean(axis=0)
    scale = features[train].std(axis=0)
    scale[scale == 0] = 1.0
    standard = ((features - mean) / scale).astype(np.float32)
    x_train, x_test = torch.from_numpy(standard[train]), torch.from_numpy(standard[test])
    y_train = torch.from_numpy(labels[train])
    with deterministic(seed):
        model = nn.Sequential(
            nn.Linear(standard.shape[1], HIDDEN),
            nn.ReLU(),
            nn.Linear(HIDDEN, HIDDEN),
            nn.ReLU(),
            nn.Linear(HIDDEN, len(names)),
        )
        optimiser = torch.optim.Adam(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
        for _ in range(STEPS):
            optimiser.zero_grad()
            nn.functional.cross_entropy(model(x_train), y_train).backward()
            optimiser.step()
        model.eval()
        with torch.no_grad():
            logits = model(x_test).numpy()
            train_correct = (model(x_train).argmax(1) == y_train).double().mean().item()
    return {
        "X": logits.astype(np.float32),
        "y": labels[test],
        "class_names": np.asarray(names),
        "predictions": logits.argmax(axis=1).astype(np.int64),
        "train_accuracy": np.float64(train_correct),
    }


def write_demo_embedding(name: str, out: str | os.PathLike[str], seed: int = 0) -> None:
    """`demo_embedding` as an ``.npz`` embedding file (same seed, same bytes)."""
    from kstarlab.io import write_npz

    write_npz(out, demo_embedding(name, seed=seed))
