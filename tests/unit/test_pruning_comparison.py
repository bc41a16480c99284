"""The pruning comparison: analysis files, the summary's tables checked against brute-force
computations from the arrays the files were written from, its figures, and its errors."""

from __future__ import annotations

import itertools

import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.cluster.hierarchy
import scipy.spatial.distance
import scipy.stats

from kstarlab.errors import InputError
from kstarlab.geometry.features import GeometricFeatures
from kstarlab.pruning.analysis_files import read_analysis, write_analysis
from kstarlab.pruning.comparison import OUTPUTS, summarise_pruning

N, CLASSES = 30, 3
BENCHES = ["corrupt-gaussian_noise-2", "corrupt-fog-3"]
LABELS = np.arange(N, dtype=np.int64) % CLASSES
# entity -> (approach, sparsity, clean accuracy, accuracy under each benchmark)
ENTITIES = {
    "mpt-0.8": ("mpt", 0.8, 0.7, (0.7, 0.6)),  # keeps almost everything: the lottery winner
    "oneshot-0.8": ("oneshot", 0.8, 0.4, (0.2, 0.2)),
    "oneshot-0.5": ("oneshot", 0.5, 0.6, (0.3, 0.3)),
    "dense": ("dense", 0.0, 0.9, (0.6, 0.5)),
    "random-0.5": ("random", 0.5, 0.5, (0.3, 0.2)),
    "finetune-0.8": ("finetune", 0.8, 0.8, (0.5, 0.5)),
}
# Dense first, then approach order (not alphabetical, not the files' order), then sparsity.
ORDER = ["dense", "oneshot-0.5", "oneshot-0.8", "finetune-0.8", "random-0.5", "mpt-0.8"]


def _features(rng, accuracy, labels=LABELS):
    """Features whose predictions are right on exactly round(accuracy * n) random samples."""
    n = len(labels)
    right = np.zeros(n, dtype=bool)
    right[rng.permutation(n)[: round(accuracy * n)]] = True
    predictions = np.where(right, labels, (labels + 1 + rng.integers(0, 2, n)) % CLASSES)
    margin = np.where(right, 1.0, -1.0) * rng.uniform(0.05, 2.0, n)
    angle = rng.uniform(10.0, 80.0, n)
    return GeometricFeatures(
        angle=angle,
        length=rng.uniform(0.5, 4.0, n),
        margin=margin,
        angles_all=np.tile(angle[:, None], (1, CLASSES)),
        predictions=predictions,
    )


def _meta(entity, approach, sparsity, **extra):
    return {
        "entity": entity,
        "approach": approach,
        "sparsity": sparsity,
        "measured_sparsity": sparsity + 0.001 if sparsity else 0.0,
        "arch": "resnet",
        "seed": 3,
        "train_seconds": 1.5,
        **extra,
    }


def _study(folder, entities=ENTITIES, benches=BENCHES, labels=LABELS):
    """Analysis files for ``entities``, and the arrays written: entity -> name -> features."""
    folder.mkdir(parents=True, exist_ok=True)
    paths, arrays = [], {}
    for i, (entity, (approach, sparsity, clean, per_bench)) in enumerate(entities.items()):
        rng = np.random.default_rng(100 + i)
        feats = {"clean": _features(rng, clean, labels)}
        for bench, acc in zip(benches, per_bench, strict=False):
            feats[bench] = _features(rng, acc, labels)
        if entity == "dense":
            feats["clean"].angle[4] = np.nan  # a zero feature vector: undefined angle
        path = folder / f"{entity}.h5"
        write_analysis(path, _meta(entity, approach, sparsity), labels, feats)
        paths.append(path)
        arrays[entity] = feats
    return paths, arrays


def _outputs(folder):
    return {
        key: folder / (f"{key}.png" if key.endswith("_fig") else f"{key}.csv") for key in OUTPUTS
    }


IMAGES = np.random.default_rng(7).uniform(size=(N, 1, 8, 8))


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    paths, arrays = _study(root / "analyses")
    outputs = _outputs(root / "out")
    result = summarise_pruning(
        paths, outputs, images=IMAGES, class_names=["zero", "one", "two"], seed=0
    )
    return root, paths, arrays, outputs, result


def _correct(feats):
    return (feats.predictions == LABELS).astype(int)


def _robustness(arrays, entity):
    return np.array(
        [
            np.mean([arrays[entity][b].predictions[i] == LABELS[i] for b in BENCHES])
            for i in range(N)
        ]
    )


# ---- analysis files ----------------------------------------------------------------------


def test_analysis_files_round_trip_and_are_byte_reproducible(tmp_path):
    paths, arrays = _study(tmp_path / "a")
    again, _ = _study(tmp_path / "b")
    for p, q in zip(paths, again, strict=True):
        assert p.read_bytes() == q.read_bytes(), f"{p.name} differs between two writes"
    got = read_analysis(tmp_path / "a" / "finetune-0.8.h5")
    assert (got.entity, got.approach, got.sparsity, got.arch, got.seed) == (
        "finetune-0.8",
        "finetune",
        0.8,
        "resnet",
        3,
    )
    assert got.measured_sparsity == pytest.approx(0.801) and got.train_seconds == 1.5
    assert got.benchmarks == tuple(BENCHES)
    assert got.labels.dtype == np.int64 and np.array_equal(got.labels, LABELS)
    for name in ("clean", *BENCHES):
        for key in ("angle", "length", "margin", "predictions"):
            assert np.array_equal(
                got.features[name][key], getattr(arrays["finetune-0.8"][name], key), equal_nan=True
            )
    with h5py.File(paths[0], "r") as h5:
        assert "benchmarks/corrupt-fog-3/margin" in h5 and h5["clean/predictions"].dtype == np.int64
    assert [p for p in tmp_path.rglob(".*")] == []  # no temporaries left


def test_write_analysis_accepts_mappings_and_refuses_bad_metadata(tmp_path):
    feats = {"clean": {"angle": [1.0], "length": [2.0], "margin": [0.5], "predictions": [0]}}
    write_analysis(tmp_path / "ok.h5", _meta("dense", "dense", 0.0), [0], feats)
    assert read_analysis(tmp_path / "ok.h5").accuracy() == 1.0
    bad = [
        (_meta("x", "prune-harder", 0.5), "unknown approach 'prune-harder'"),
        (_meta("x", "finetune", 1.0), "sparsity must lie in [0, 1)"),
        (_meta("x", "dense", 0.5), "the dense model has sparsity 0"),
        ({"entity": "x", "approach": "mpt", "sparsity": 0.5}, "lacks measured_sparsity"),
    ]
    for meta, message in bad:
        with pytest.raises(InputError, match=message.replace("[", r"\[").replace(")", r"\)")):
            write_analysis(tmp_path / "bad.h5", meta, [0], feats)
    with pytest.raises(InputError, match="shape"):
        write_analysis(tmp_path / "bad.h5", _meta("dense", "dense", 0.0), [0, 1], feats)
    assert not (tmp_path / "bad.h5").exists()


# ---- tables ------------------------------------------------------------------------------


def test_models_table_holds_brute_force_accuracies_in_approach_order(summary):
    _, _, arrays, outputs, result = summary
    models = pd.read_csv(outputs["models"])
    assert list(models["entity"]) == ORDER
    assert list(models.columns[:9]) == [
        "entity",
        "approach",
        "sparsity",
        "arch",
        "seed",
        "measured_sparsity",
        "clean_accuracy",
        "corruption_accuracy",
        "train_seconds",
    ]
    for _, row in models.iterrows():
        feats = arrays[row["entity"]]
        clean = sum(feats["clean"].predictions[i] == LABELS[i] for i in range(N)) / N
        corrupt = np.mean([np.mean(feats[b].predictions == LABELS) for b in BENCHES])
        assert row["clean_accuracy"] == pytest.approx(clean, abs=1e-15)
        assert row["corruption_accuracy"] == pytest.approx(corrupt, abs=1e-15)
        approach, sparsity, acc, per_bench = ENTITIES[row["entity"]]
        assert (row["approach"], row["sparsity"]) == (approach, sparsity)
        assert row["clean_accuracy"] == pytest.approx(acc)  # the fixture made what it meant
        assert row["corruption_accuracy"] == pytest.approx(np.mean(per_bench))
    dense_ratio = models["corruption_accuracy"][0] / models["clean_accuracy"][0]
    expected = models["corruption_accuracy"] / models["clean_accuracy"] / dense_ratio
    assert np.allclose(models["relative_robustness"], expected)
    assert result["models"]["entity"].tolist() == ORDER


def test_benchmarks_table_is_long_with_clean_first(summary):
    _, _, arrays, outputs, _ = summary
    table = pd.read_csv(outputs["benchmarks"])
    assert list(table.columns) == ["entity", "approach", "sparsity", "benchmark", "accuracy"]
    assert len(table) == len(ORDER) * (1 + len(BENCHES))
    assert list(table["benchmark"][:3]) == ["clean", *BENCHES]
    assert list(table["entity"][:: 1 + len(BENCHES)]) == ORDER
    for _, row in table.iterrows():
        preds = arrays[row["entity"]][row["benchmark"]].predictions
        assert row["accuracy"] == pytest.approx(np.mean(preds == LABELS), abs=1e-15)


def test_samples_table_holds_features_and_correctness(summary):
    _, _, arrays, outputs, _ = summary
    table = pd.read_csv(outputs["samples"])
    assert len(table) == len(ORDER) * N
    assert [f"correct_{b}" for b in BENCHES] == [c for c in table.columns if "corrupt-" in c]
    for entity in ORDER:
        rows = table[table["entity"] == entity]
        clean = arrays[entity]["clean"]
        assert list(rows["sample"]) == list(range(N))
        assert np.array_equal(rows["label"], LABELS)
        for key in ("angle", "length", "margin"):
            assert np.array_equal(rows[key], getattr(clean, key), equal_nan=True)  # %.17g: exact
        assert np.array_equal(rows["correct_clean"], _correct(clean))
        for b in BENCHES:
            assert np.array_equal(rows[f"correct_{b}"], _correct(arrays[entity][b]))
        assert np.allclose(rows["corruption_robustness"], _robustness(arrays, entity))
    assert table["angle"].isna().sum() == 1


def test_correlations_match_scipy_on_each_models_own_robustness(summary):
    _, _, arrays, outputs, _ = summary
    table = pd.read_csv(outputs["correlations"])
    assert list(table.columns[:3]) == ["model", "approach", "sparsity"]
    assert len(table) == len(ORDER) * 3 and set(table["robustness"]) == {"corruption"}
    for _, row in table.iterrows():
        x = getattr(arrays[row["model"]]["clean"], row["feature"])
        r = _robustness(arrays, row["model"])
        ok = np.isfinite(x)
        assert row["n"] == ok.sum()
        assert row["pearson_r"] == pytest.approx(np.corrcoef(x[ok], r[ok])[0, 1], abs=1e-12)
        assert row["pearson_p"] == pytest.approx(scipy.stats.pearsonr(x[ok], r[ok])[1], rel=1e-9)
        assert row["spearman_r"] == pytest.approx(
            scipy.stats.spearmanr(x[ok], r[ok]).statistic, abs=1e-12
        )
    assert table[(table["model"] == "dense") & (table["feature"] == "angle")]["n"].item() == N - 1


def test_fragile_counts_flips_by_brute_force_and_sorts(summary):
    _, _, arrays, outputs, _ = summary
    table = pd.read_csv(outputs["fragile"])
    pruned = [e for e in ORDER if e != "dense"]
    expected = []
    for i in range(N):
        dense_ok = arrays["dense"]["clean"].predictions[i] == LABELS[i]
        prune = sum(
            1 for e in pruned if dense_ok and arrays[e]["clean"].predictions[i] != LABELS[i]
        )
        corrupt = sum(
            1 for b in BENCHES if dense_ok and arrays["dense"][b].predictions[i] != LABELS[i]
        )
        expected.append((i, LABELS[i], int(dense_ok), prune, corrupt, prune + corrupt))
    expected.sort(key=lambda row: (-row[5], row[0]))
    got = list(table.itertuples(index=False, name=None))
    assert got == expected
    assert table["flips"].max() > 0 and (table["flips"] == 0).any()  # both kinds occur


def test_similarity_is_rms_distance_in_hierarchical_order(summary):
    _, _, arrays, outputs, _ = summary
    table = pd.read_csv(outputs["similarity"], index_col=0)
    # Brute force: pooled standardisation per feature, NaN -> 0, RMS of the differences.
    names = ORDER
    blocks = []
    for key in ("angle", "length", "margin"):
        stacked = np.vstack([getattr(arrays[e]["clean"], key) for e in names])
        finite = np.isfinite(stacked)
        mean, std = stacked[finite].mean(), stacked[finite].std()
        blocks.append(np.where(finite, (stacked - mean) / std, 0.0))
    vectors = np.hstack(blocks)
    k = len(names)
    dist = np.array(
        [[np.sqrt(np.mean((vectors[a] - vectors[b]) ** 2)) for b in range(k)] for a in range(k)]
    )
    linkage = scipy.cluster.hierarchy.linkage(
        scipy.spatial.distance.squareform(dist, checks=False), "average", optimal_ordering=True
    )
    order = [names[i] for i in scipy.cluster.hierarchy.leaves_list(linkage)]
    assert list(table.index) == order and list(table.columns) == order
    for a, b in itertools.product(names, names):
        assert table.loc[a, b] == pytest.approx(dist[names.index(a), names.index(b)], abs=1e-12)
    assert sorted(order) == sorted(names)


def test_embedding_holds_models_and_benchmarks_with_a_spanning_tree(summary):
    _, _, _, outputs, _ = summary
    table = pd.read_csv(outputs["embedding"], index_col=0, keep_default_na=False)
    assert list(table.index) == [*ORDER, *(f"dense:{b}" for b in BENCHES)]
    assert list(table["kind"]) == ["dense", *["pruned"] * (len(ORDER) - 1), *["benchmark"] * 2]
    assert list(table["benchmark"]) == ["clean"] * len(ORDER) + BENCHES
    assert np.isfinite(table[["x", "y"]].to_numpy(dtype=float)).all()
    edges = {
        tuple(sorted((a, b)))
        for a, row in table.iterrows()
        for b in str(row["tree_neighbours"]).split()
    }
    assert len(edges) == len(table) - 1  # a tree over every entity
    adjacency = {name: set() for name in table.index}
    for a, b in edges:
        adjacency[a].add(b)
        adjacency[b].add(a)
    seen, todo = set(), ["dense"]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(adjacency[node])
    assert seen == set(table.index)  # connected


def test_default_compare_is_the_biggest_lottery_winner(summary):
    _, _, arrays, _, result = summary
    ratio = {
        e: np.mean([np.mean(arrays[e][b].predictions == LABELS) for b in BENCHES])
        / np.mean(arrays[e]["clean"].predictions == LABELS)
        for e in ORDER
    }
    clean = {e: np.mean(arrays[e]["clean"].predictions == LABELS) for e in ORDER}
    keeping = [e for e in ORDER[1:] if clean[e] >= 0.9 * clean["dense"]] or list(ORDER[1:])
    best = max(keeping, key=lambda e: ratio[e] / ratio["dense"])
    assert result["compare"] == best
    assert "winner" in result["compare_reason"]
    assert f"{ratio[best] / ratio['dense']:.3f}" in result["compare_reason"]


def test_a_collapsed_model_is_no_lottery_winner():
    """A model at chance has a high corruption/clean ratio; the default compare skips it
    while another model keeps its clean accuracy."""
    from kstarlab.pruning.comparison import lottery_winner

    models = pd.DataFrame(
        {
            "entity": ["dense", "oneshot-0.9", "mpt-0.9", "snip-0.9"],
            "clean_accuracy": [0.99, 0.10, 0.95, 0.50],
            "relative_robustness": [1.0, 1.7, 1.2, 1.5],
        }
    )
    assert lottery_winner(models)[0] == "mpt-0.9"
    models["clean_accuracy"] = [0.99, 0.10, 0.50, 0.40]
    entity, reason = lottery_winner(models)
    assert entity == "oneshot-0.9" and "no model keeps its clean accuracy" in reason


def test_every_figure_is_written_as_png_and_pdf(summary):
    root, _, _, outputs, _ = summary
    for key in OUTPUTS:
        if key.endswith("_fig"):
            for suffix in (".png", ".pdf"):
                path = outputs[key].with_suffix(suffix)
                assert path.is_file() and path.stat().st_size > 1000, path
    assert [p for p in (root / "out").iterdir() if p.name.startswith(".")] == []


def test_two_runs_give_the_same_bytes(summary, tmp_path):
    _, paths, _, outputs, _ = summary
    again = _outputs(tmp_path)
    summarise_pruning(
        list(reversed(paths)), again, images=IMAGES, class_names=["zero", "one", "two"], seed=0
    )
    for key in OUTPUTS:
        a, b = outputs[key], again[key]
        if key.endswith("_fig"):
            a, b = a.with_suffix(".png"), b.with_suffix(".png")
        assert a.read_bytes() == b.read_bytes(), f"{key} differs between two runs"


def test_explicit_compare_and_no_images(summary, tmp_path):
    _, paths, _, _, _ = summary
    result = summarise_pruning(paths, _outputs(tmp_path), compare="oneshot-0.5")
    assert result["compare"] == "oneshot-0.5" and result["compare_reason"].startswith(
        "chosen by the caller"
    )
    assert (tmp_path / "fragile_fig.png").is_file()
    with pytest.raises(InputError, match="compare 'dense' is no pruned model"):
        summarise_pruning(paths, _outputs(tmp_path), compare="dense")
    with pytest.raises(InputError, match=r"images must be \(N=30"):
        summarise_pruning(paths, _outputs(tmp_path), images=IMAGES[:5])


# ---- errors ------------------------------------------------------------------------------


def _one_line(excinfo, path):
    message = str(excinfo.value)
    assert "\n" not in message
    assert str(path) in message, message


def test_no_dense_model_is_refused(tmp_path):
    entities = {k: v for k, v in ENTITIES.items() if k != "dense"}
    paths, _ = _study(tmp_path / "a", entities)
    with pytest.raises(InputError, match="no dense model") as excinfo:
        summarise_pruning(paths, _outputs(tmp_path / "out"))
    _one_line(excinfo, paths[0])
    assert not (tmp_path / "out").exists()


def test_a_second_dense_model_is_refused(tmp_path):
    paths, _ = _study(tmp_path / "a")
    other, _ = _study(tmp_path / "b", {"dense2": ("dense", 0.0, 0.9, (0.5, 0.5))})
    with pytest.raises(InputError, match="a second dense model") as excinfo:
        summarise_pruning([*paths, *other], _outputs(tmp_path / "out"))
    _one_line(excinfo, other[0])


def test_other_samples_are_refused(tmp_path):
    paths, _ = _study(tmp_path / "a")
    shuffled = LABELS[::-1].copy()
    other, _ = _study(tmp_path / "b", {"snip-0.5": ("snip", 0.5, 0.8, (0.5, 0.5))}, labels=shuffled)
    with pytest.raises(InputError, match="covers other samples") as excinfo:
        summarise_pruning([*paths, *other], _outputs(tmp_path / "out"))
    _one_line(excinfo, other[0])
    short = {"snip-0.5": ("snip", 0.5, 0.8, (0.5, 0.5))}
    fewer, _ = _study(tmp_path / "c", short, labels=LABELS[:12])
    with pytest.raises(InputError, match="covers other samples") as excinfo:
        summarise_pruning([*paths, *fewer], _outputs(tmp_path / "out"))
    _one_line(excinfo, fewer[0])


def test_missing_and_extra_benchmarks_are_refused(tmp_path):
    paths, _ = _study(tmp_path / "a")
    lacking, _ = _study(
        tmp_path / "b", {"gradual-0.5": ("gradual", 0.5, 0.8, (0.5,))}, benches=BENCHES[:1]
    )
    with pytest.raises(InputError, match="lacks benchmarks of the dense model: corrupt-fog-3") as e:
        summarise_pruning([*paths, *lacking], _outputs(tmp_path / "out"))
    _one_line(e, lacking[0])
    extra, _ = _study(
        tmp_path / "c",
        {"gradual-0.5": ("gradual", 0.5, 0.8, (0.5, 0.5, 0.5))},
        benches=[*BENCHES, "corrupt-snow-1"],
    )
    with pytest.raises(InputError, match="has benchmarks the dense model lacks: corrupt-snow") as e:
        summarise_pruning([*paths, *extra], _outputs(tmp_path / "out"))
    _one_line(e, extra[0])


def test_a_benchmark_group_missing_from_the_file_is_refused(tmp_path):
    paths, _ = _study(tmp_path / "a")
    with h5py.File(paths[1], "a") as h5:
        del h5["benchmarks/corrupt-fog-3"]
    with pytest.raises(InputError, match="'corrupt-fog-3' listed but group") as excinfo:
        summarise_pruning(paths, _outputs(tmp_path / "out"))
    _one_line(excinfo, paths[1])


def test_missing_files_outputs_and_lone_dense_are_refused(tmp_path):
    paths, _ = _study(tmp_path / "a")
    with pytest.raises(InputError, match="analysis file not found") as excinfo:
        summarise_pruning([*paths, tmp_path / "nope.h5"], _outputs(tmp_path / "out"))
    _one_line(excinfo, tmp_path / "nope.h5")
    outputs = _outputs(tmp_path / "out")
    del outputs["lottery_fig"]
    with pytest.raises(InputError, match="needs outputs lottery_fig"):
        summarise_pruning(paths, outputs)
    with pytest.raises(InputError, match="no pruned model besides the dense one") as excinfo:
        summarise_pruning([tmp_path / "a" / "dense.h5"], _outputs(tmp_path / "out"))
    _one_line(excinfo, tmp_path / "a" / "dense.h5")
