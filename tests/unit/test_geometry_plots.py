"""The geometry figures render, are written atomically and are byte-reproducible."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kstarlab.figures import save_figure
from kstarlab.geometry import plots
from kstarlab.geometry.embedding import embed_entities, similarity_order


def _features(seed=0, n=60):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "angle": rng.uniform(0, 90, n),
            "length": rng.uniform(1, 5, n),
            "margin": rng.normal(0.5, 1, n),
        }
    )


def test_every_geometry_figure_is_written_and_reproducible(tmp_path):
    feats = _features()
    labels = np.arange(60) % 3
    ents = {f"m{i}": _features(i) for i in range(4)}
    emb = embed_entities(ents)
    dist = emb["distances"]
    acc = pd.DataFrame(
        {
            "model": ["a"] * 3 + ["b"] * 3,
            "sparsity": [0.1, 0.5, 0.9] * 2,
            "accuracy": [0.9, 0.8, 0.2, 0.95, 0.7, 0.1],
        }
    )
    makers = {
        "scatter": lambda: plots.angle_length_scatter(feats, labels, ["a", "b", "c"], "m"),
        "margins": lambda: plots.margin_histograms({"a": feats["margin"], "b": -feats["margin"]}),
        "map": lambda: plots.embedding_map(emb["coords"], emb["tree"], {"m0": "model"}),
        "heatmap": lambda: plots.similarity_heatmap(dist, similarity_order(dist.to_numpy())),
        "sparsity": lambda: plots.accuracy_vs_sparsity(acc),
    }
    for name, make in makers.items():
        first = save_figure(make(), tmp_path / "one" / name)
        second = save_figure(make(), tmp_path / "two" / name)
        assert [p.suffix for p in first] == [".png", ".pdf"]
        for a, b in zip(first, second, strict=True):
            assert a.stat().st_size > 1000
            assert a.read_bytes() == b.read_bytes(), f"{a.name} differs between two renders"
    leftovers = [p for p in tmp_path.rglob("*") if p.name.startswith(".")]
    assert leftovers == []


def test_dotted_names_keep_their_dots(tmp_path):
    fig = plots.margin_histograms({"a": np.array([0.1, -0.2, 0.3])})
    written = save_figure(fig, tmp_path / "noise-0.1", formats=(".png",))
    assert written == [tmp_path / "noise-0.1.png"] and written[0].exists()
    fig = plots.margin_histograms({"a": np.array([0.1, -0.2, 0.3])})
    assert save_figure(fig, tmp_path / "x.png", formats=(".pdf",)) == [tmp_path / "x.pdf"]
