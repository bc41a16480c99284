"""Table XXI: embedding files of other domains, their checks, the table's layout against a
brute-force recomputation, the demonstration embeddings and the config check."""

from __future__ import annotations

import copy
import hashlib
import math
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.stats
import yaml

from kstarlab.errors import InputError
from kstarlab.kstar.embedding_demo import DEMOS, demo_embedding, write_demo_embedding
from kstarlab.kstar.embeddings import check_embedding, embedding_summary, table_xxi
from kstarlab.workflow import jobs
from kstarlab.workflow.plan import make_plan
from oracle import oracle_kstar
from system import SMOKE

SETTINGS = {"metric": "euclidean", "p": None, "dtype": "float64", "block_size": None, "seed": 0}


def write_npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def write_h5(path: Path, **arrays) -> Path:
    with h5py.File(path, "w") as fh:
        for key, value in arrays.items():
            value = np.asarray(value)
            fh[key] = value.astype("S") if value.dtype.kind == "U" else value
    return path


def valid(n: int = 12) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    y = np.arange(n) % 3
    return {
        "X": rng.normal(size=(n, 4)),
        "y": y,
        "class_names": np.array(["a", "b", "c"]),
        "predictions": y,
    }


# --- loading errors: one line naming the file and the key ---------------------------------


def _without(key):
    return lambda a: a.pop(key)


CASES = [
    (_without("X"), "no {kind} 'X'"),
    (_without("y"), "no {kind} 'y'"),
    (lambda a: a.update(X=a["X"][:, 0]), "X must be a non-empty 2-D array"),
    (lambda a: a.update(X=a["X"].astype(str)), "X must be numeric"),
    (lambda a: a.update(y=a["y"].astype(float)), "y must hold integer labels"),
    (lambda a: a.update(y=a["y"][:-1]), "y has 11 entries, X has 12 rows"),
    (lambda a: a.update(y=a["y"].reshape(3, 4)), "y must be 1-D"),
    (lambda a: a.update(y=a["y"] - 1), "y holds the negative label -1"),
    (lambda a: a.update(y=np.zeros(12, dtype=int)), "y holds one class"),
    (lambda a: a.update(predictions=a["y"][:5]), "predictions has 5 entries"),
    (lambda a: a.update(predictions=a["y"] + 0.5), "predictions must hold integer labels"),
    (lambda a: a.update(class_names=np.array(["a", "b"])), "class_names has 2 entries"),
]


@pytest.mark.parametrize("fmt", ["npz", "h5"])
@pytest.mark.parametrize(("edit", "message"), CASES, ids=[c[1][:24] for c in CASES])
def test_a_bad_embedding_file_is_one_line_naming_file_and_key(fmt, edit, message, tmp_path):
    arrays = valid()
    edit(arrays)
    path = tmp_path / f"emb.{fmt}"
    (write_npz if fmt == "npz" else write_h5)(path, **arrays)
    with pytest.raises(InputError) as info:
        check_embedding(path)
    text = str(info.value)
    kind = "array" if fmt == "npz" else "dataset"
    assert message.format(kind=kind) in text
    assert str(path) in text and "\n" not in text


def test_missing_unreadable_and_foreign_files(tmp_path):
    with pytest.raises(InputError, match="input file not found"):
        check_embedding(tmp_path / "none.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match=r"not a valid \.npz archive"):
        check_embedding(tmp_path / "bad.npz")
    (tmp_path / "emb.csv").write_text("1,2\n")
    with pytest.raises(InputError, match=r"emb\.csv: an embedding file is \.npz or \.h5"):
        check_embedding(tmp_path / "emb.csv")


def test_a_valid_file_is_described(tmp_path):
    info = check_embedding(write_h5(tmp_path / "e.h5", **valid()))
    assert (info.n_samples, info.n_features, info.n_classes) == (12, 4, 3)
    assert info.class_names == ["a", "b", "c"] and info.has_predictions
    bare = valid()
    del bare["predictions"], bare["class_names"]
    info = check_embedding(write_npz(tmp_path / "e.npz", **bare))
    assert info.class_names is None and not info.has_predictions


def test_non_finite_values_name_the_file(tmp_path):
    arrays = valid()
    arrays["X"][4, 2] = np.nan
    path = write_npz(tmp_path / "nan.npz", **arrays)
    with pytest.raises(InputError, match=rf"{path}: X contains NaN or infinity at row 4"):
        jobs.embedding_kstar(str(path), SETTINGS, tmp_path / "s.csv", tmp_path / "c.csv")
    assert not (tmp_path / "s.csv").exists() and not (tmp_path / "c.csv").exists()


# --- the Table XXI layout against a brute-force recomputation -----------------------------


def synthetic_sources(folder: Path) -> list[tuple[dict, Path, dict]]:
    """Three embeddings with clustered, overlapped and fractured classes (and a constant
    class): one .npz with predictions, one .h5 without, one flagged as a demonstration."""
    rng = np.random.default_rng(7)
    out = []
    # text: a far cluster (class 0), two overlapping classes, one class scattered among them
    y = np.repeat(np.arange(4), [15, 18, 18, 12])
    X = rng.normal(size=(y.size, 6))
    X[y == 0] += 12.0
    X[y == 1, 0] += 0.4
    X[y == 3] *= 3.0
    predictions = np.where(rng.random(y.size) < 0.8, y, (y + 1) % 4)
    names = np.array(["alarm", "bus", "cook", "date"])
    path = write_npz(folder / "text.npz", X=X, y=y, class_names=names, predictions=predictions)
    out.append(({"name": "text", "domain": "Intent (Text)", "model": "M1"}, path, {}))
    # audio: a constant class (all k* = 1), no predictions (accuracy "—")
    y = np.repeat(np.arange(3), [10, 14, 9])
    X = rng.normal(size=(y.size, 3))
    X[y == 2] += 40.0
    X[y == 1] *= 2.5
    path = write_h5(folder / "audio.h5", X=X, y=y)
    out.append(({"name": "audio", "domain": "Keyword (Audio)", "model": "M2"}, path, {}))
    # a demonstration row
    y = np.repeat(np.arange(3), 11)
    X = rng.normal(size=(y.size, 5)) + y[:, None] * 0.7
    path = write_npz(folder / "demo.npz", X=X, y=y, predictions=y[::-1].copy())
    out.append(({"name": "demo", "domain": "Tables", "model": "MLP"}, path, {"demo": True}))
    return out


def brute_force_row(X, y, predictions) -> dict[tuple[str, str], float]:
    """The row from the definitions: oracle k*, then per class and per pattern by hand."""
    k = oracle_kstar(np.asarray(X, dtype=np.float64), y, "euclidean")
    classes = []
    for label in np.unique(y):
        v = k[y == label]
        mean = sum(v) / len(v)
        constant = all(x == v[0] for x in v)
        skew = math.nan if constant else float(scipy.stats.skew(v, bias=True))
        if constant:
            pattern = "C" if v[0] == 1 else ("A" if len(v) > 1 and v[0] == 1 / len(v) else "B")
        else:
            pattern = "C" if skew < -0.5 else ("A" if skew > 0.5 else "B")
        acc = math.nan if predictions is None else float(np.mean(predictions[y == label] == label))
        classes.append((pattern, mean, skew, acc))
    row = {}
    groups = [("Fractured (A)", "A"), ("Overlapped (B)", "B"), ("Clustered (C)", "C")]
    for label, letter in [*groups, ("All classes", None)]:
        members = [c for c in classes if letter is None or c[0] == letter]
        skews = [c[2] for c in members if not math.isnan(c[2])]
        row[(label, "μ")] = sum(c[1] for c in members) / len(members) if members else math.nan
        row[(label, "γ")] = sum(skews) / len(skews) if skews else math.nan
        accs = [c[3] for c in members]
        row[(label, "Acc")] = 100 * sum(accs) / len(accs) if members else math.nan
        row[(label, "N")] = len(members)
    return row


def run_table(tmp_path: Path, sources) -> tuple[pd.DataFrame, dict[str, Path]]:
    classes = []
    for source, path, _ in sources:
        out = tmp_path / "kstar" / source["name"]
        jobs.embedding_kstar(str(path), SETTINGS, f"{out}.csv", f"{out}.classes.csv")
        classes.append(f"{out}.classes.csv")
    outputs = {
        k: tmp_path / f"table.{ext}"
        for k, ext in (("csv", "csv"), ("markdown", "md"), ("latex", "tex"), ("html", "html"))
    }
    outputs["summary"] = tmp_path / "summary.csv"
    settings = {
        "sources": [{**s, "demo": bool(flags.get("demo"))} for s, _, flags in sources],
        "tables": "XXI",
        "caption": "Synthetic.",
    }
    jobs.embedding_tables(classes, settings, outputs)
    return pd.read_csv(outputs["csv"], header=[0, 1], index_col=[0, 1]), outputs


def load(path: Path):
    if path.suffix == ".npz":
        with np.load(path) as a:
            return a["X"], a["y"], a.get("predictions")
    with h5py.File(path) as fh:
        return fh["X"][()], fh["y"][()], None


def test_table_xxi_layout_matches_a_brute_force_recomputation(tmp_path):
    sources = synthetic_sources(tmp_path)
    table, outputs = run_table(tmp_path, sources)
    # the paper's layout: a row per (task, architecture) in the configured order ...
    assert list(table.index.names) == ["Task", "Architecture"]
    assert list(table.index) == [
        ("Intent (Text)", "M1"),
        ("Keyword (Audio)", "M2"),
        ("Demonstration: Tables", "MLP"),
    ]
    # ... and μ, γ, Acc, N for each pattern, then for all classes ("Entire Dataset")
    groups = ["Fractured (A)", "Overlapped (B)", "Clustered (C)", "All classes"]
    paper = [(g, s) for g in groups for s in ("μ", "γ", "Acc", "N")]
    # the paper's columns unchanged, the bootstrap's uncertain counts after them
    assert list(table.columns) == paper + [(g, "N?") for g in groups[:3]]
    seen = set()
    for (source, path, _), (_, row) in zip(sources, table.iterrows(), strict=True):
        expected = brute_force_row(*load(path))
        for column, value in expected.items():
            got = row[column]
            if column[1] == "N":
                assert got == value, (source["name"], column)
                if value and column[0] != "All classes":
                    seen.add(column[0])
            else:
                assert got == pytest.approx(value, rel=1e-9, abs=1e-12, nan_ok=True), (
                    source["name"],
                    column,
                )
    assert seen == set(groups[:3]), "the data should exercise every pattern"
    assert math.isnan(table.loc[("Keyword (Audio)", "M2"), ("All classes", "Acc")])
    markdown = outputs["markdown"].read_text()
    assert "| Task | Architecture | Fractured (A) μ | Fractured (A) γ |" in markdown
    assert "| Keyword (Audio) | M2 |" in markdown and "—" in markdown
    assert "not the paper's domains" in markdown
    summary = pd.read_csv(outputs["summary"])
    assert list(summary.columns[:4]) == ["source", "task", "architecture", "class"]
    assert len(summary) == 4 + 3 + 3
    assert set(summary.loc[summary.source == "text", "class"]) == {"alarm", "bus", "cook", "date"}


def test_in_process_summary_and_table_equal_the_jobs(tmp_path):
    sources = synthetic_sources(tmp_path)
    table, _ = run_table(tmp_path, sources)
    rows = []
    for source, path, flags in sources:
        summary = embedding_summary(path, dtype="float64")
        job = pd.read_csv(tmp_path / "kstar" / f"{source['name']}.classes.csv")
        np.testing.assert_array_equal(summary["mean"].to_numpy(), job["mean"].to_numpy())
        task = ("Demonstration: " if flags else "") + source["domain"]
        rows.append((task, source["model"], summary))
    direct = table_xxi(rows)
    np.testing.assert_allclose(direct.to_numpy(float), table.to_numpy(float), rtol=1e-15)
    with pytest.raises(InputError, match="two embeddings are both"):
        table_xxi([rows[0], rows[0]])


def test_distributions_figure_reads_the_tables_it_is_given(tmp_path):
    """Each embedding's per-sample and per-class tables come as the rule passes them
    (kstarlab.paths names them): none is found by cutting the other's name."""
    sources = synthetic_sources(tmp_path)
    run_table(tmp_path, sources)
    samples, classes = [], []
    for number, (source, _, _) in enumerate(sources):
        kstar = tmp_path / "kstar" / source["name"]
        moved = tmp_path / f"per-class-{number}.csv"
        Path(f"{kstar}.classes.csv").rename(moved)
        samples.append(f"{kstar}.csv")
        classes.append(str(moved))
    settings = {"sources": [{**s, "demo": bool(flags.get("demo"))} for s, _, flags in sources]}
    out = tmp_path / "distributions.png"
    jobs.embedding_distributions(samples, classes, settings, str(out))
    assert out.stat().st_size > 1000


# --- the demonstration ---------------------------------------------------------------------


def test_demo_embedding_is_deterministic_and_a_logit_layer(tmp_path):
    a, b, c = tmp_path / "a.npz", tmp_path / "b.npz", tmp_path / "c.npz"
    write_demo_embedding("iris", a, seed=0)
    write_demo_embedding("iris", b, seed=0)
    write_demo_embedding("iris", c, seed=1)
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (a, b, c)]
    assert digest[0] == digest[1] != digest[2]
    info = check_embedding(a)
    # the 30% held-out split of the 150 iris flowers, one logit per species
    assert (info.n_samples, info.n_features, info.n_classes) == (45, 3, 3)
    assert info.class_names == ["setosa", "versicolor", "virginica"]
    with np.load(a) as arrays:
        np.testing.assert_array_equal(arrays["predictions"], arrays["X"].argmax(axis=1))
        assert np.mean(arrays["predictions"] == arrays["y"]) > 0.85
        assert np.bincount(arrays["y"]).tolist() == [15, 15, 15]


def test_every_demo_embeds_its_held_out_split():
    for name in DEMOS:
        arrays = demo_embedding(name, seed=0)
        assert arrays["X"].shape[1] == len(arrays["class_names"])
        assert np.mean(arrays["predictions"] == arrays["y"]) > 0.85, name


# --- the config check ----------------------------------------------------------------------


def smoke_config(**embeddings) -> dict:
    cfg = copy.deepcopy(yaml.safe_load(SMOKE.read_text()))
    for study in cfg["studies"].values():
        study.setdefault("layers", ["logit"])  # the schema's default
    cfg["embeddings"] = {"enabled": True, **embeddings}
    return cfg


def test_plan_holds_the_sources_in_order_with_their_labels(tmp_path):
    path = write_npz(tmp_path / "e.npz", **valid())
    cfg = smoke_config(
        sources=[
            {"name": "z-file", "domain": "Speech", "model": "AST", "file": str(path)},
            {"name": "a-demo", "demo": "wine"},
        ]
    )
    plan = make_plan(cfg)
    assert [s.name for s in plan.embeddings] == ["z-file", "a-demo"]
    assert plan.embeddings[1].params() == {
        "name": "a-demo",
        "domain": DEMOS["wine"].domain,
        "model": "MLP trained here (logit layer)",
        "demo": True,
    }
    cfg["embeddings"]["enabled"] = False
    assert make_plan(cfg).embeddings == ()


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        (
            [{"name": "m", "domain": "T", "model": "B", "file": "/no/such/e.npz"}],
            "embeddings.sources.m.file: file not found: /no/such/e.npz",
        ),
        (
            [{"name": "m", "domain": "T", "model": "B", "file": "/no/such/e.csv"}],
            "embeddings.sources.m.file: /no/such/e.csv is not an .npz or .h5",
        ),
        ([{"name": "m", "demo": "wine", "file": "x.npz"}], "either a 'file' or a 'demo'"),
        ([{"name": "m"}], "either a 'file' or a 'demo'"),
        ([{"name": "m", "demo": "mnist"}], "sources.m.demo: unknown 'mnist'"),
        ([{"name": "m", "model": "B", "file": "x.npz"}], "needs a 'domain'"),
        ([{"name": "m", "demo": "iris"}, {"name": "m", "demo": "wine"}], "used twice"),
        ([{"name": "a", "demo": "iris"}, {"name": "b", "demo": "iris"}], "same domain and model"),
        ([], "needs at least one"),
    ],
)
def test_bad_embeddings_config_is_one_line(sources, message):
    with pytest.raises(InputError, match=r"^config: embeddings") as info:
        make_plan(smoke_config(sources=sources))
    assert message in str(info.value)


def test_bad_metric_is_named():
    cfg = smoke_config(metric="manhattan", sources=[{"name": "m", "demo": "iris"}])
    with pytest.raises(InputError, match=r"config: embeddings\.metric: unknown metric"):
        make_plan(cfg)
