"""Conv layers as the paper used them: flattened by default, pooling an explicit opt-in that
every table computed on pooled maps names in its caption."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from kstarlab.io import open_latents
from kstarlab.kstar.tables import pooled_layers, pooling_note
from kstarlab.latents.datasets import ImageData, TensorImages, load_digits
from kstarlab.latents.extraction import extract
from kstarlab.models import load_model
from kstarlab.workflow import jobs

REPO = Path(__file__).resolve().parents[2]
LAYERS = ["logit", "stage1", "stage2", "avgpool"]  # stage1: 16×32×32, stage2: 32×16×16


@pytest.fixture(scope="module")
def latents(tmp_path_factory):
    """The zoo ResNet on 200 digits, flattened and with stage1 pooled (pool_above=8192)."""
    digits = load_digits("test")
    keep = np.sort(np.random.default_rng(0).choice(len(digits), 200, replace=False))
    small = ImageData(
        "digits",
        TensorImages(digits.dataset.images[keep], digits.labels[keep]),
        digits.class_names,
    )
    model = load_model("resnet", seed=0)
    folder = tmp_path_factory.mktemp("pooled")
    flat, pooled = folder / "flat" / "clean.h5", folder / "pooled" / "clean.h5"
    extract(model, small, LAYERS, flat, batch_size=64)
    extract(model, small, LAYERS, pooled, batch_size=64, pool_above=8192)
    return flat, pooled


def test_the_paper_config_flattens_and_the_schema_defaults_to_flattening():
    paper = yaml.safe_load((REPO / "config/paper.yaml").read_text())
    assert "pool_above" not in paper["extraction"]
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    pool_above = schema["properties"]["extraction"]["properties"]["pool_above"]
    assert pool_above["default"] is None and "opt-in" in pool_above["description"]


def test_latents_report_their_pooling(latents):
    flat, pooled = latents
    with open_latents(flat, layer="stage1") as data:
        assert data.pooling == "none" and data.original_shape == (16, 32, 32)
        assert data.X.shape == (200, 16 * 32 * 32)
    with open_latents(pooled, layer="stage1") as data:
        assert data.pooling == "spatial-mean" and data.original_shape == (16, 32, 32)
        assert data.X.shape == (200, 16)
        with open_latents(flat, layer="stage1") as full:
            maps = full.X[()].reshape(200, 16, 32 * 32).astype(np.float64)
            assert np.allclose(data.X[()], maps.mean(axis=2), atol=1e-5)
    with open_latents(pooled, layer="stage2") as data:  # 8,192 features: not above 8,192
        assert data.pooling == "none" and data.X.shape == (200, 8192)


def test_pooling_note_names_each_pooled_layer():
    assert pooling_note([]) == ""
    note = pooling_note(
        [
            ("resnet50", "stage2.block4.conv3", "spatial-mean", (512, 28, 28)),
            ("vit_b16", "encoder", "token-mean", (197, 768)),
        ]
    )
    assert note == (
        "Computed on pooled maps, not the paper's flattened layers: stage2.block4.conv3 of "
        "resnet50 averaged over space (512×28×28 → 512 features); encoder of vit_b16 "
        "averaged over tokens (197×768 → 768 features)."
    )


def test_pooled_layers_reads_the_files(latents):
    flat, pooled = latents
    cells = [["resnet", layer, "clean", "euclidean"] for layer in LAYERS]
    assert pooled_layers([flat] * 4, cells) == []
    assert pooled_layers([pooled] * 4, cells) == [
        ("resnet", "stage1", "spatial-mean", (16, 32, 32))
    ]


@pytest.mark.parametrize("kind", ["flat", "pooled"])
def test_study_tables_caption_says_when_maps_were_pooled(latents, tmp_path, kind):
    path = latents[0] if kind == "flat" else latents[1]
    cells, inputs = [], []
    for layer in ("stage1", "avgpool"):
        samples = tmp_path / f"{layer}.csv"
        classes = tmp_path / f"{layer}.classes.csv"
        settings = {"metric": "euclidean", "dtype": "float32", "seed": 0}
        jobs.kstar(str(path), layer, settings, str(samples), str(classes))
        cells.append(["resnet", layer, "clean", "euclidean"])
        inputs.append(str(classes))
    study = {
        "cells": cells,
        "classes": ["0", "1"],
        "rows": ["layer"],
        "caption": "Layers of the zoo ResNet.",
        "tables": "III, IV",
    }
    outputs = {
        "per_class": tmp_path / "t.csv",
        "patterns": tmp_path / "t.patterns.csv",
        "markdown": tmp_path / "t.md",
        "latex": tmp_path / "t.tex",
    }
    jobs.study_tables(inputs, study, outputs, latents=[str(path)] * 2)
    markdown, latex = outputs["markdown"].read_text(), outputs["latex"].read_text()
    if kind == "flat":
        assert "Layers of the zoo ResNet.\n" in markdown and "pooled" not in markdown
        assert "pooled" not in latex
    else:
        line = (
            "Layers of the zoo ResNet. Computed on pooled maps, not the paper's flattened "
            "layers: stage1 of resnet averaged over space (16×32×32 → 16 features)."
        )
        assert line in markdown.splitlines()
        assert latex.count(r"stage1 of resnet averaged over space (16$\times$32$\times$32") == 2
