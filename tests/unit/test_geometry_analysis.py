"""analyse_model + summarise_models end to end on a tiny trained MLP: the real outputs."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest

from kstarlab.geometry import embedding
from kstarlab.geometry.analysis import analyse_model, summarise_models

CORRUPTIONS = ("corrupt-contrast-2", "corrupt-gaussian_noise-2")
SPARSITIES = (0.2, 0.5, 0.8)
FILES = (("features", ".h5"), ("samples", ".csv"), ("pruning", ".csv"))
FIGURES = ("embedding", "corruption_similarity", "angle_length", "margins", "accuracy_sparsity")


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    from kstarlab.latents.datasets import load_digits
    from kstarlab.latents.extraction import extract
    from kstarlab.models.registry import ModelEntry, load_model
    from kstarlab.models.training import TrainConfig, save_trained, train_zoo

    work = tmp_path_factory.mktemp("geometry")
    trained = train_zoo(TrainConfig(arch="mlp", epochs=2, eval_pgd_steps=0))
    checkpoint, _ = save_trained(trained, work / "mlp.pt")
    model = load_model(ModelEntry(name="mlp", arch="mlp", weights=str(checkpoint)))
    data = load_digits("test")
    latents = {}
    for transform in ("clean", *CORRUPTIONS):
        latents[transform] = work / f"{transform}.h5"
        extract(model, data, ["avgpool"], latents[transform], transform=transform)
    out = {name: work / "mlp" / f"{name}{ext}" for name, ext in FILES}
    analyse_model(
        model,
        data.dataset.images,
        latents.pop("clean"),
        latents,
        "avgpool",
        SPARSITIES,
        out["features"],
        out["samples"],
        out["pruning"],
    )
    return work, out, len(data), data.class_names


def test_analyse_model_outputs(analysed):
    _, out, n, _ = analysed
    with h5py.File(out["features"], "r") as h5:
        assert h5.attrs["model"] == "mlp" and h5.attrs["layer"] == "avgpool"
        expected = ["clean", *(f"corrupt/{t}" for t in CORRUPTIONS)]
        expected += [f"pruned/{s:g}" for s in SPARSITIES]
        for name in expected:
            for key in ("angle", "length", "margin", "predictions"):
                assert h5[name][key].shape == (n,)
            assert h5[name]["angles_all"].shape == (n, 10)
        clean_margin = h5["clean/margin"][()]
        clean_correct = h5["clean/predictions"][()] == h5["labels"][()]
    np.testing.assert_array_equal(clean_margin < 0, ~clean_correct)
    samples = pd.read_csv(out["samples"])
    assert len(samples) == n
    for column in (
        "label",
        "angle",
        "length",
        "margin",
        "corruption_robustness",
        "prune_correct_fraction",
        "first_flip_sparsity",
    ):
        assert column in samples.columns
    assert samples["corruption_robustness"].isin([0, 0.5, 1]).all()
    flips = samples["first_flip_sparsity"].dropna()
    assert flips.isin(SPARSITIES).all()
    pruning = pd.read_csv(out["pruning"])
    assert list(pruning.columns) == ["model", "sparsity", "achieved_sparsity", "accuracy"]
    assert pruning["sparsity"].tolist() == [0.0, *SPARSITIES]
    np.testing.assert_allclose(pruning["achieved_sparsity"], pruning["sparsity"], atol=0.01)
    assert pruning["accuracy"].iloc[0] == pytest.approx(np.mean(clean_correct))


def test_summarise_models_outputs(analysed, monkeypatch):
    work, out, n, class_names = analysed
    # MDS instead of UMAP: umap's numba compilation alone takes about a minute.
    monkeypatch.setattr(embedding, "UMAP_MIN_ENTITIES", 1000)
    summary = work / "summary"
    outputs = {
        "correlations": summary / "correlations.csv",
        "poster": summary / "poster_tables.md",
        "embedding": summary / "embedding.csv",
        "embedding_fig": summary / "figures" / "embedding.png",
        "heatmap_fig": summary / "figures" / "corruption_similarity.png",
        "scatter_fig": summary / "figures" / "angle_length.png",
        "margins_fig": summary / "figures" / "margins.png",
        "sparsity_fig": summary / "figures" / "accuracy_sparsity.png",
    }
    summarise_models(
        ["mlp"],
        [str(out["samples"])],
        [str(out["pruning"])],
        [str(out["features"])],
        {k: str(v) for k, v in outputs.items()},
        class_names=class_names,
    )
    table = pd.read_csv(outputs["correlations"])
    assert list(table.columns) == [
        "model",
        "robustness",
        "feature",
        "pearson_r",
        "pearson_p",
        "spearman_r",
        "n",
    ]
    assert len(table) == 6
    assert sorted(zip(table["robustness"], table["feature"], strict=True)) == [
        (r, f) for r in ("corruption", "pruning") for f in ("angle", "length", "margin")
    ]
    assert (table["model"] == "mlp").all() and (table["n"] == n).all()
    assert table[["pearson_r", "pearson_p", "spearman_r"]].notna().all().all()
    poster = outputs["poster"].read_text()
    assert "corruption robustness" in poster and "pruning robustness" in poster
    assert poster.count("rc-angle") == 2 and poster.count("| mlp") == 2
    coords = pd.read_csv(outputs["embedding"], index_col=0)
    assert len(coords) == 1 + len(CORRUPTIONS) + len(SPARSITIES)
    assert sorted(coords["kind"].unique()) == ["corrupt", "model", "pruned"]
    for name in FIGURES:
        png = summary / "figures" / f"{name}.png"
        pdf = png.with_suffix(".pdf")
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert pdf.read_bytes()[:5] == b"%PDF-"
