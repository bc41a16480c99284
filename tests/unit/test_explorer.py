"""The explorer's data and page (no browser): what the page embeds equals the results files
it comes from, the stratified samples keep their promises, bad input is one line.

The results folder is synthetic but in the real formats (tests/synthetic_results.py): k*
computed by `kstar_file` on clustered latents of the digits' test images, a pruning study
written by `write_analysis`. The browser tests run on the smoke run's page
(tests/workflow/test_explorer_browser.py)."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kstarlab import paths
from kstarlab.cli import main
from kstarlab.errors import InputError
from kstarlab.explorer import collect_explorer, read_page_data, write_explorer
from kstarlab.explorer.data import stratified_sample
from kstarlab.explorer.images import image_sheet
from kstarlab.explorer.limits import lowest_shown
from kstarlab.pruning.analysis_files import read_analysis

N, CLASSES = 540, 10  # the digits' test split (seed 0): real images for the k* lists
BENCHMARKS = ["corrupt-fog-2", "corrupt-gaussian_noise-1", "corrupt-contrast-3"]
CELLS = [
    ("m1", "logit", "clean", "euclidean"),
    ("m1", "logit", "clean", "cosine"),
    ("m2", "logit", "rot-90", "euclidean"),
]
DIGITS = {"dataset": "digits", "params": {"split": "test", "seed": 0, "size": 32}}
VIEWS = ("map", "geometry", "benchmarks", "samples", "kstar", "projections")
GEOMETRY_MODELS = ["resnet", "vit"]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    import synthetic_results as synthetic

    root = tmp_path_factory.mktemp("explorer") / "results"
    synthetic.write_kstar(root, CELLS, N, CLASSES, dataset=DIGITS)
    synthetic.write_pruning(root, N, CLASSES, 6, BENCHMARKS)
    synthetic.write_geometry(root, GEOMETRY_MODELS, N, CLASSES, BENCHMARKS)
    return root


@pytest.fixture(scope="module")
def payload(results):
    return collect_explorer(results)


# --------------------------------------------------------------------------- sampling


@given(
    st.lists(st.integers(0, 6), min_size=1, max_size=300),
    st.integers(10, 120),
    st.integers(0, 3),
)
def test_stratified_sample_keeps_each_class_share(labels, limit, seed):
    y = np.asarray(labels)
    kept = stratified_sample(y, limit, seed)
    assert np.all(np.diff(kept) > 0)  # sorted, unique
    if y.size <= limit:
        assert kept.tolist() == list(range(y.size))
        return
    classes, counts = np.unique(y, return_counts=True)
    per_class = {c: int(np.sum(y[kept] == c)) for c in classes}
    assert all(v >= 1 for v in per_class.values())
    assert kept.size <= limit + classes.size  # the at-least-one rule may add a few
    for c, count in zip(classes, counts, strict=True):
        share = limit * count / y.size
        assert per_class[c] <= count
        assert per_class[c] >= min(count, 1, np.floor(share)) and per_class[c] <= max(
            1, np.ceil(share)
        )
    assert np.array_equal(kept, stratified_sample(y, limit, seed))


def test_stratified_sample_is_exactly_the_limit_for_balanced_classes():
    y = np.arange(1000) % 10
    kept = stratified_sample(y, 100, seed=3)
    assert kept.size == 100
    assert np.bincount(y[kept]).tolist() == [10] * 10


# --------------------------------------------------------------------------- pruning study


def test_pruning_payload_equals_the_analysis_files(results, payload):
    study = payload["pruning"][0]
    assert study["samples"] == list(range(N))  # 540 < MAX_POINTS: every sample
    files = sorted((results / "pruning/synthetic/analysis").glob("*.h5"))
    analyses = {a.entity: a for a in map(read_analysis, files)}
    dense = analyses["dense"]
    assert study["benchmarks"] == ["clean", *BENCHMARKS]
    assert study["labels"] == dense.labels.tolist()
    picks = [0, 17, 233, N - 1]
    for name, a in analyses.items():
        shown = study["features"][name]
        for feature in ("angle", "length", "margin"):
            assert [shown[feature][i] for i in picks] == a.features["clean"][feature][
                picks
            ].tolist()
        for b in study["benchmarks"]:
            assert shown["predictions"][b] == a.features[b]["predictions"].tolist()
        correct = np.mean([a.features[b]["predictions"] == a.labels for b in BENCHMARKS], axis=0)
        assert shown["corruption_robustness"] == correct.tolist()
    pruned = [a for a in analyses.values() if not a.is_dense]
    expected = np.mean([a.features["clean"]["predictions"] == a.labels for a in pruned], axis=0)
    assert study["pruning_robustness"] == pytest.approx(expected.tolist(), abs=1e-15)
    # the dense model under each benchmark is an entity of the map, with its own geometry
    fog = study["features"]["dense:corrupt-fog-2"]
    assert fog["margin"] == dense.features["corrupt-fog-2"]["margin"].tolist()


def test_pruning_map_equals_the_embedding_file(results, payload):
    study = payload["pruning"][0]
    table = pd.read_csv(
        paths.rebase(paths.pruning_summary("synthetic")["embedding"], results), index_col=0
    )
    names = [e["name"] for e in study["entities"]]
    assert names[0] == "dense" and names[-len(BENCHMARKS) :] == [f"dense:{b}" for b in BENCHMARKS]
    assert sorted(names) == sorted(table.index)
    for entity in study["entities"]:
        row = table.loc[entity["name"]]
        assert (entity["x"], entity["y"]) == (row["x"], row["y"])
        assert entity["tree"] == str(row["tree_neighbours"]).split()
    degree = sum(len(e["tree"]) for e in study["entities"])
    assert degree == 2 * (len(study["entities"]) - 1)  # a spanning tree


def test_benchmark_similarity_against_a_brute_force_oracle(results, payload):
    """RMS difference of the features, each standardised over every benchmark (float64)."""
    study = payload["pruning"][0]
    dense = read_analysis(results / "pruning/synthetic/analysis/dense.h5")
    sets = ["clean", *BENCHMARKS]
    blocks = []
    for feature in ("angle", "length", "margin"):
        stacked = np.vstack([dense.features[b][feature] for b in sets])
        blocks.append((stacked - stacked.mean()) / stacked.std())
    vectors = np.hstack(blocks)
    sim = study["similarity"]
    for i, a in enumerate(sim["names"]):
        for j, b in enumerate(sim["names"]):
            diff = vectors[sets.index(a)] - vectors[sets.index(b)]
            assert sim["distances"][i][j] == pytest.approx(np.sqrt(np.mean(diff**2)), abs=1e-12)
    assert sim["entities"][sim["names"].index("clean")] == "dense"


# --------------------------------------------------------------------------- geometry section


def test_geometry_section_is_a_map_study_equal_to_its_files(results, payload):
    from kstarlab.geometry.analysis import read_entities

    study = payload["pruning"][-1]
    assert study["name"] == "geometry" and study["dense"] == "resnet"
    assert study["benchmarks"] == ["clean", *sorted(BENCHMARKS)]  # the features file's order
    table = pd.read_csv(paths.rebase(paths.geometry_table("embedding"), results), index_col=0)
    names = [e["name"] for e in study["entities"]]
    assert sorted(names) == sorted(table.index)
    for entity in study["entities"]:
        row = table.loc[entity["name"]]
        assert (entity["x"], entity["y"]) == (row["x"], row["y"])
    assert sum(len(e["tree"]) for e in study["entities"]) == 2 * (len(names) - 1)
    picks = [0, 17, 233, N - 1]
    for model in GEOMETRY_MODELS:
        files = read_entities(paths.rebase(paths.geometry_model(model, "features"), results))
        samples = pd.read_csv(paths.rebase(paths.geometry_model(model, "samples"), results))
        shown = study["features"][model]
        assert [shown["angle"][i] for i in picks] == files["clean"]["angle"][picks].tolist()
        for b in BENCHMARKS:
            assert shown["predictions"][b] == files[f"corrupt/{b}"]["predictions"].tolist()
            under = study["features"][f"{model} {b}"]
            assert under["margin"] == files[f"corrupt/{b}"]["margin"].tolist()
        assert shown["pruning_robustness"] == samples["prune_correct_fraction"].tolist()
        assert shown["corruption_robustness"] == samples["corruption_robustness"].tolist()
        pruned = next(e for e in study["entities"] if e["name"] == f"{model} pruned 0.9")
        assert (pruned["kind"], pruned["sparsity"], pruned["model"]) == ("pruned", 0.9, model)
    # a heatmap cell's benchmark stands for that benchmark under every model
    sim = study["similarity"]
    fog = sim["entities"][sim["names"].index("corrupt-fog-2")]
    assert fog == [f"{m} corrupt-fog-2" for m in GEOMETRY_MODELS]
    assert sim["entities"][sim["names"].index("clean")] == GEOMETRY_MODELS


def test_geometry_section_only_when_asked(results, tmp_path):
    from kstarlab.explorer.data import geometry_study

    assert [p["name"] for p in collect_explorer(results, geometry=[])["pruning"]] == ["synthetic"]
    with pytest.raises(InputError, match="no embedding map"):
        geometry_study(tmp_path, ["resnet"], limit=100, seed=0)


# --------------------------------------------------------------------------- k* cells


def test_kstar_payload_equals_the_cell_tables(results, payload):
    cells = {c["key"]: c for c in payload["kstar"]["cells"]}
    assert list(cells) == ["/".join(c) for c in CELLS]
    for cell in CELLS:
        shown = cells["/".join(cell)]
        samples = pd.read_csv(paths.rebase(paths.kstar_cell(*cell), results))
        classes = pd.read_csv(
            paths.rebase(paths.kstar_cell(*cell, "classes"), results), dtype={"class": str}
        )
        assert shown["kstar"] == samples["kstar"].tolist()
        assert shown["samples"] == samples["index"].tolist()
        assert [c["name"] for c in shown["classes"]] == classes["class"].tolist()
        assert [c["mean"] for c in shown["classes"]] == classes["mean"].tolist()
        assert [c["pattern"] for c in shown["classes"]] == classes["pattern"].tolist()
        # the lowest-k* lists: a brute-force sort by (k*, index) within each class
        for c in range(CLASSES):
            members = samples[samples["label"] == c].sort_values(["kstar", "index"])
            listed = shown["lowest"][str(c)]
            assert [e["index"] for e in listed] == members["index"].tolist()[
                : lowest_shown(CLASSES)
            ]
            if "nearest" in samples:
                for e in listed:
                    j = samples.loc[samples["index"] == e["index"], "nearest"].item()
                    assert e["nearest"] == j
                    assert e["nearest_label"] == samples.loc[samples["index"] == j, "label"].item()
                    assert e["nearest_label"] != c


def test_kstar_images_are_the_digits_of_the_listed_samples(payload):
    from kstarlab.latents.datasets import load_digits

    (source,) = payload["kstar"]["images"].values()
    digits = load_digits(split="test", seed=0)
    sheet = source["sheet"]
    decoded = decode(sheet)
    for pos in (0, len(source["samples"]) - 1):
        index = source["samples"][pos]
        image = np.asarray(digits.dataset[index][0])[0]  # grey: the three channels agree
        assert np.array_equal(tile_of(decoded, sheet, pos), np.rint(image * 255).astype(np.uint8))


def test_limit_draws_a_stratified_sample_and_says_so(results):
    small = collect_explorer(results, limit=50)
    study = small["pruning"][0]
    assert len(study["samples"]) == 50
    assert np.bincount(study["labels"]).tolist() == [5] * CLASSES
    assert all(len(c["samples"]) == 50 for c in small["kstar"]["cells"])
    assert any("50 of its 540 samples" in note for note in small["notes"])
    # statistics and the lowest lists still come from every sample
    full = collect_explorer(results)
    assert small["kstar"]["cells"][0]["classes"] == full["kstar"]["cells"][0]["classes"]
    assert small["kstar"]["cells"][0]["lowest"] == full["kstar"]["cells"][0]["lowest"]


# --------------------------------------------------------------------------- images


def decode(sheet):
    from PIL import Image

    raw = base64.b64decode(sheet["uri"].split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(raw)))


def tile_of(decoded, sheet, pos):
    size, cols = sheet["size"], sheet["cols"]
    r, c = divmod(pos, cols)
    return decoded[r * size : (r + 1) * size, c * size : (c + 1) * size]


def test_image_sheet_tiles_are_the_images():
    """Grey sheets are lossless PNG (tile for tile); colour sheets may be a lossy WebP,
    close to the images."""
    rng = np.random.default_rng(0)
    grey = rng.uniform(size=(7, 1, 32, 32))
    sheet = image_sheet(grey)
    assert sheet["uri"].startswith("data:image/png;base64,")
    decoded = decode(sheet)
    assert (sheet["n"], sheet["cols"]) == (7, 3)
    for pos in range(7):
        expected = np.rint(grey[pos, 0] * 255).astype(np.uint8)
        assert np.array_equal(tile_of(decoded, sheet, pos), expected)
    # three equal channels are a grey image: stored losslessly as such
    assert np.array_equal(decode(image_sheet(np.repeat(grey, 3, axis=1))), decoded)
    # smooth colour images (photographs): close to the images, whatever the format
    ramp = np.linspace(0, 1, 32)
    colour = np.stack(
        [
            np.stack(
                [
                    np.add.outer(ramp, ramp) / 2,
                    np.outer(ramp, ramp),
                    1 - ramp[None, :] + 0 * ramp[:, None],
                ]
            )
            * (0.5 + k / 10)
            for k in range(5)
        ]
    )
    sheet = image_sheet(colour)
    decoded = decode(sheet)
    for pos in range(5):
        expected = np.rint(colour[pos].transpose(1, 2, 0) * 255)
        error = np.abs(tile_of(decoded, sheet, pos).astype(np.float64) - expected)
        assert error.mean() < 8, (sheet["uri"][:20], error.mean())  # 3% of the range
    with pytest.raises(ValueError, match="images must be"):
        image_sheet(rng.uniform(size=(2, 32, 32)))


# --------------------------------------------------------------------------- the page


def test_page_embeds_the_payload_and_loads_nothing(results, tmp_path):
    out = tmp_path / "explorer.html"
    written = write_explorer(results, out)
    assert read_page_data(out) == written
    html = out.read_text()
    for view in VIEWS:
        assert f'data-view="{view}"' in html
    assert 'data-sample=""' in html and 'data-model=""' in html
    # no external resource: every script and style is inline
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)
    assert "Plotly" in html
    assert not list(tmp_path.glob("*.tmp*"))


def test_bad_input_is_one_line(tmp_path, capsys):
    with pytest.raises(InputError, match="results folder not found"):
        collect_explorer(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="nothing to explore"):
        write_explorer(empty, tmp_path / "out.html")
    assert not (tmp_path / "out.html").exists()
    assert main(["explore", str(tmp_path / "missing"), "--out", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: results folder not found")
    with pytest.raises(SystemExit) as stop:
        main(["explore", str(empty), "--out", str(tmp_path / "x.html"), "--limit", "3"])
    assert stop.value.code == 2
    assert "--limit" in capsys.readouterr().err


def test_command_line_writes_the_page(results, tmp_path, capsys):
    out = tmp_path / "page.html"
    assert main(["explore", str(results), "--out", str(out), "--limit", "100"]) == 0
    data = read_page_data(out)
    assert [s["name"] for s in data["kstar"]["studies"]] == ["m1", "m2"]  # grouped by model
    assert len(data["pruning"][0]["samples"]) == 100
    assert "wrote" in capsys.readouterr().err
