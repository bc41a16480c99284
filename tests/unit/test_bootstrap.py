"""The bootstrap interval of each class's γ (issue 12, item 6): a brute-force loop oracle,
determinism, coverage, the uncertain flag at the thresholds, and the columns' order."""

from __future__ import annotations

import math
import warnings

import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.stats

import kstarlab.kstar.summary
from kstarlab import InputError, kstar_summary, kstar_values, pattern_averages
from kstarlab.cli import main
from kstarlab.kstar.summary import INTERVAL_COLUMNS, is_uncertain, skew_interval
from kstarlab.kstar.tables import (
    PAPER_COLUMNS,
    SUMMARY_COLUMNS,
    pattern_table,
    per_class_table,
    to_markdown,
)

PAPER = ["class", "n", "mean", "std", "skew", "pattern"]


def oracle_interval(values, resamples, seed, level=0.95):
    """One resample at a time from the same generator, scipy's skew, quantiles by hand."""
    v = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    skews = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy warns on constant resamples
        for _ in range(resamples):
            s = scipy.stats.skew(v[rng.integers(0, v.size, size=v.size)], bias=True)
            if not math.isnan(s):
                skews.append(float(s))
    if not skews:
        return math.nan, math.nan
    skews.sort()

    def quantile(q):  # the linear (type 7) quantile, written out
        pos = q * (len(skews) - 1)
        below = math.floor(pos)
        above = min(below + 1, len(skews) - 1)
        return skews[below] + (pos - below) * (skews[above] - skews[below])

    return quantile((1 - level) / 2), quantile((1 + level) / 2)


# --------------------------------------------------------------------------- the interval


@pytest.mark.parametrize("n", [2, 3, 7, 12, 30])
@pytest.mark.parametrize("seed", [0, 11, [3, 2]])
def test_interval_matches_the_loop_oracle(n, seed):
    rng = np.random.default_rng(n)
    values = rng.integers(1, n + 1, size=n) / n  # k*-like: multiples of 1/n, with ties
    lo, hi = skew_interval(values, resamples=300, seed=seed)
    ref = oracle_interval(values, 300, seed)
    assert lo == pytest.approx(ref[0], rel=1e-9, abs=1e-12)
    assert hi == pytest.approx(ref[1], rel=1e-9, abs=1e-12)
    assert lo <= hi


def test_interval_level_matches_the_oracle():
    values = np.random.default_rng(3).beta(2, 5, size=25)
    for level in (0.5, 0.9, 0.99):
        got = skew_interval(values, resamples=400, seed=5, level=level)
        np.testing.assert_allclose(got, oracle_interval(values, 400, 5, level), rtol=1e-9)
    narrow, wide = (skew_interval(values, resamples=400, seed=5, level=q) for q in (0.5, 0.99))
    assert wide[0] < narrow[0] < narrow[1] < wide[1]


def test_blocks_of_resamples_draw_the_same_indices(monkeypatch):
    """The engine draws resamples in blocks bounded in memory; the blocks change nothing."""
    values = np.random.default_rng(8).random(13)
    whole = skew_interval(values, resamples=250, seed=4)
    monkeypatch.setattr(kstarlab.kstar.summary, "_BLOCK", 13 * 7)  # 7 rows per block, a ragged last
    assert skew_interval(values, resamples=250, seed=4) == whole
    np.testing.assert_allclose(whole, oracle_interval(values, 250, 4), rtol=1e-9)


def test_constant_values_and_mostly_constant_resamples():
    assert all(math.isnan(x) for x in skew_interval(np.ones(9), resamples=50, seed=0))
    # one value apart: many resamples are constant (no skew) and are left out
    values = np.array([1.0] * 8 + [0.2])
    lo, hi = skew_interval(values, resamples=500, seed=1)
    assert (lo, hi) == pytest.approx(oracle_interval(values, 500, 1), rel=1e-9)
    assert hi < 0


def test_interval_is_deterministic_and_depends_on_the_seed():
    values = np.random.default_rng(0).random(54)
    a = skew_interval(values, resamples=1000, seed=7)
    assert skew_interval(values, resamples=1000, seed=7) == a
    assert skew_interval(values, resamples=1000, seed=8) != a
    assert skew_interval(values, resamples=999, seed=7) != a


def test_coverage_and_width_on_known_distributions():
    """A sanity check of the whole construction, not a proof: the percentile bootstrap of a
    skew under-covers a little at these sizes (about 91-93% for a nominal 95%)."""
    rng = np.random.default_rng(2024)
    a, b = 2.0, 5.0
    beta_skew = 2 * (b - a) * math.sqrt(a + b + 1) / ((a + b + 2) * math.sqrt(a * b))
    cases = [
        ("normal", 0.0, lambda n: rng.normal(size=n)),
        ("beta(2,5)", beta_skew, lambda n: rng.beta(a, b, size=n)),
    ]
    widths = {}
    for name, true, draw in cases:
        for n in (54, 200):
            intervals = [skew_interval(draw(n), resamples=1000, seed=r) for r in range(150)]
            coverage = np.mean([lo <= true <= hi for lo, hi in intervals])
            assert 0.85 <= coverage <= 0.99, (name, n, coverage)
            widths[name, n] = np.mean([hi - lo for lo, hi in intervals])
    # ~54 samples per digit: SE of a skew ~0.33, a 95% interval about 1.2 wide
    assert 0.9 < widths["normal", 54] < 1.4
    for name, _, _ in cases:
        assert 1.4 < widths[name, 54] / widths[name, 200] < 2.3  # ~ sqrt(200 / 54)


@pytest.mark.parametrize(
    "kwargs", [{"resamples": 0}, {"resamples": True}, {"resamples": 2.5}, {"level": 1.0}]
)
def test_interval_bad_arguments(kwargs):
    with pytest.raises(InputError):
        skew_interval(np.arange(1, 6) / 5, **kwargs)


# --------------------------------------------------------------------------- uncertainty


@pytest.mark.parametrize(
    ("skew", "lo", "hi", "uncertain"),
    [
        (-0.9, -1.4, -0.51, False),  # Clustered, interval below -0.5
        (-0.9, -1.4, -0.5, True),  # reaches -0.5, which is Overlapped
        (-0.9, -1.4, 0.2, True),
        (0.9, 0.51, 1.4, False),  # Fractured, interval above +0.5
        (0.9, 0.5, 1.4, True),  # reaches +0.5, which is Overlapped
        (0.9, -0.7, 1.4, True),
        (0.0, -0.5, 0.5, False),  # Overlapped: the ends are still Overlapped
        (0.0, -0.5000001, 0.3, True),
        (0.0, -0.3, 0.5000001, True),
        (0.55, 0.1, 0.45, True),  # γ outside its percentile interval, across +0.5
        (-0.55, -1.2, -0.6, False),  # γ outside, same side of -0.5
        (math.nan, math.nan, math.nan, False),  # constant class: its value decides
        (0.2, math.nan, math.nan, True),  # a defined γ without an interval
    ],
)
def test_uncertain_at_the_thresholds(skew, lo, hi, uncertain):
    assert is_uncertain(skew, lo, hi) is uncertain


def test_summary_flags_follow_the_intervals():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(300, 4))
    y = np.arange(300) % 6
    X[:, 0] += 1.5 * y
    k = kstar_values(X, y, dtype="float64")
    summary = kstar_summary(k, y, resamples=200, seed=3)
    for position, (label, row) in enumerate(summary.iterrows()):
        lo, hi = oracle_interval(k[y == label], 200, [3, position])
        assert (row["skew_lo"], row["skew_hi"]) == pytest.approx((lo, hi), rel=1e-9)
        assert row["pattern_uncertain"] == is_uncertain(row["skew"], lo, hi)
        assert row["skew_lo"] < row["skew"] < row["skew_hi"] or row["pattern_uncertain"]
    assert summary["pattern_uncertain"].dtype == bool


def test_clear_and_borderline_classes():
    """A class of 54 samples whose γ is far past -0.5 is certain; one whose γ sits near the
    threshold is not."""
    n = 54
    clear = np.array([1.0] * 44 + [0.1] * 10)  # γ ~ -1.6
    border = np.concatenate([np.linspace(0.05, 1.0, 44), [1.0] * 10])
    k = np.concatenate([clear, border])
    y = np.repeat([0, 1], n)
    summary = kstar_summary(k, y, seed=0)
    assert summary.loc[0, "pattern"] == "Clustered" and not summary.loc[0, "pattern_uncertain"]
    assert abs(summary.loc[1, "skew"] + 0.5) < 0.3
    assert summary.loc[1, "pattern_uncertain"]


def test_constant_class_is_certain_and_has_no_interval():
    k = np.array([1.0, 1.0, 1.0, 0.25, 0.5, 0.75, 1.0, 1.0])
    y = np.array([0, 0, 0, 1, 1, 1, 1, 2])
    summary = kstar_summary(k, y)
    row = summary.loc[0]
    assert math.isnan(row["skew"]) and math.isnan(row["skew_lo"]) and math.isnan(row["skew_hi"])
    assert row["pattern"] == "Clustered" and row["pattern_uncertain"] is np.False_


# --------------------------------------------------------------------------- determinism


def test_summary_is_deterministic_and_seeded():
    rng = np.random.default_rng(1)
    k = rng.integers(1, 55, size=540) / 54
    y = np.repeat(np.arange(10), 54)
    a = kstar_summary(k, y, seed=0)
    pd.testing.assert_frame_equal(a, kstar_summary(k, y, seed=0))
    b = kstar_summary(k, y, seed=1)
    assert not np.array_equal(a["skew_lo"], b["skew_lo"])
    pd.testing.assert_frame_equal(a[PAPER], b[PAPER])  # the seed moves only the intervals
    # each class draws from its own stream: the classes' intervals differ on equal values
    same = kstar_summary(np.tile(k[:54], 2), np.repeat([0, 1], 54), seed=0)
    assert same.loc[0, "skew"] == same.loc[1, "skew"]
    assert same.loc[0, "skew_lo"] != same.loc[1, "skew_lo"]


def test_job_writes_the_same_bytes_and_reads_the_seed(tmp_path):
    from kstarlab.workflow import jobs

    rng = np.random.default_rng(2)
    y = np.arange(60) % 3
    path = tmp_path / "lat.h5"
    with h5py.File(path, "w") as fh:
        fh["latents/fc"] = rng.normal(size=(60, 4)) + y[:, None]
        fh["labels"] = y
        fh["predictions"] = np.where(rng.random(60) < 0.8, y, (y + 1) % 3)
        fh.attrs["class_names"] = ["x", "y", "z"]
    settings = {"metric": "euclidean", "dtype": "float64", "seed": 0, "bootstrap_resamples": 200}

    def run(name, **change):
        out = tmp_path / name
        jobs.kstar(str(path), "fc", {**settings, **change}, str(tmp_path / "s.csv"), str(out))
        return out.read_bytes()

    first = run("a.csv")
    assert run("b.csv") == first
    assert run("c.csv", seed=1) != first
    assert run("d.csv", bootstrap_resamples=300) != first
    table = pd.read_csv(tmp_path / "a.csv")
    assert list(table.columns) == [*PAPER, "accuracy", *INTERVAL_COLUMNS]
    assert table["pattern_uncertain"].dtype == bool
    cell = jobs.read_cell(str(tmp_path / "a.csv"), ["m", "fc", "clean", "euclidean"])
    assert list(cell.columns) == SUMMARY_COLUMNS


# --------------------------------------------------------------------------- columns


def test_summary_columns_paper_first_intervals_last():
    rng = np.random.default_rng(4)
    k = rng.integers(1, 21, size=60) / 20
    y = np.arange(60) % 3
    correct = rng.random(60) < 0.7
    plain = kstar_summary(k, y, accuracy=correct, resamples=None)
    full = kstar_summary(k, y, accuracy=correct)
    assert list(plain.columns) == [*PAPER, "accuracy"]
    assert list(full.columns) == [*PAPER, "accuracy", *INTERVAL_COLUMNS]
    pd.testing.assert_frame_equal(full[list(plain.columns)], plain)  # paper's columns unchanged
    assert list(kstar_summary(k, y).columns) == [*PAPER, *INTERVAL_COLUMNS]
    assert [*PAPER_COLUMNS, *INTERVAL_COLUMNS] == SUMMARY_COLUMNS
    assert PAPER_COLUMNS[-7:] == [*PAPER, "accuracy"]


def test_pattern_averages_count_uncertain_classes_last():
    summary = pd.DataFrame(
        {
            "class": list("abcde"),
            "mean": [0.9, 0.3, 0.7, 0.2, 0.5],
            "skew": [-1.0, 2.0, -0.6, 1.0, 0.1],
            "pattern": ["Clustered", "Fractured", "Clustered", "Fractured", "Overlapped"],
            "pattern_uncertain": [False, False, True, True, True],
        }
    )
    table = pattern_averages(summary)
    assert list(table.columns) == ["pattern", "n_classes", "mean", "skew", "n_uncertain"]
    assert list(table["n_uncertain"]) == [1, 1, 1, 3]
    as_text = summary.assign(pattern_uncertain=summary["pattern_uncertain"].astype(str))
    pd.testing.assert_frame_equal(pattern_averages(as_text), table)  # as read from a CSV
    without = pattern_averages(summary.drop(columns="pattern_uncertain"))
    pd.testing.assert_frame_equal(without, table.drop(columns="n_uncertain"))


@pytest.fixture(scope="module")
def tidy():
    rng = np.random.default_rng(0)
    frames = []
    for model in ("mlp", "resnet"):
        X = rng.normal(size=(120, 5))
        y = np.arange(120) % 4
        X[:, 0] += y * (2 if model == "resnet" else 0.5)
        s = kstar_summary(
            kstar_values(X, y, dtype="float64"),
            y,
            class_names=["cat", "dog", "car", "ship"],
            accuracy=rng.random(120) < 0.8,
            resamples=300,
        )
        for key, value in {"metric": "l2", "transform": "c", "layer": "f", "model": model}.items():
            s.insert(0, key, value)
        frames.append(s)
    return pd.concat(frames, ignore_index=True)[SUMMARY_COLUMNS]


def test_per_class_table_keeps_the_paper_columns_and_adds_intervals_last(tidy):
    classes = ["dog", "ship"]
    table = per_class_table(tidy, ["model"], classes)
    paper = per_class_table(tidy.drop(columns=list(INTERVAL_COLUMNS)), ["model"], classes)
    stats = ("μ", "σ", "γ", "Acc", "Pat")
    assert list(paper.columns) == [(c, s) for c in classes for s in stats]
    assert list(table.columns) == [
        *paper.columns,
        *[(c, s) for c in classes for s in ("γ lo", "γ hi", "Pat?")],
    ]
    pd.testing.assert_frame_equal(table[list(paper.columns)], paper)
    for model, row in table.iterrows():
        for cls in classes:
            ref = tidy[(tidy.model == model) & (tidy["class"] == cls)].iloc[0]
            assert row[(cls, "γ lo")] == ref["skew_lo"] and row[(cls, "γ hi")] == ref["skew_hi"]
            assert row[(cls, "Pat?")] == ref["pattern_uncertain"]
    cells = to_markdown(table).splitlines()[2].split(" | ")
    assert cells[-1].rstrip(" |") in {"yes", "no"}


def test_pattern_table_adds_uncertain_counts_last(tidy):
    table = pattern_table(tidy, ["model"])
    paper = pattern_table(tidy.drop(columns=list(INTERVAL_COLUMNS)), ["model"])
    labels = ["Fractured (A)", "Overlapped (B)", "Clustered (C)"]
    assert list(table.columns) == [*paper.columns, *[(p, "N?") for p in labels]]
    pd.testing.assert_frame_equal(table[list(paper.columns)], paper)
    for (model,), row in table.iterrows():
        group = tidy[tidy.model == model]
        for label, name in zip(labels, ["Fractured", "Overlapped", "Clustered"], strict=True):
            expected = int(group[group.pattern == name]["pattern_uncertain"].sum())
            assert row[(label, "N?")] == expected
            assert row[(label, "N?")] <= row[(label, "N")]
    head = to_markdown(table).splitlines()[0]
    assert head.endswith("| Fractured (A) N? | Overlapped (B) N? | Clustered (C) N? |")


# --------------------------------------------------------------------------- CLI


def test_cli_seed_and_resamples(tmp_path, capsys):
    rng = np.random.default_rng(9)
    X, y = rng.normal(size=(45, 3)), np.arange(45) % 3
    np.savez(tmp_path / "lat.npz", X=X, y=y)
    k = kstar_values(X, y)

    def run(*extra):
        out = tmp_path / "out.csv"
        assert main(["kstar", str(tmp_path / "lat.npz"), "--out", str(out), *extra]) == 0
        capsys.readouterr()
        return pd.read_csv(out)

    default = run()
    assert list(default.columns) == [*PAPER, *INTERVAL_COLUMNS]
    expected = kstar_summary(k, y, resamples=1000, seed=0)
    np.testing.assert_allclose(default["skew_lo"], expected["skew_lo"], rtol=1e-12)
    chosen = run("--seed", "4", "--resamples", "200")
    expected = kstar_summary(k, y, resamples=200, seed=4)
    np.testing.assert_allclose(chosen["skew_hi"], expected["skew_hi"], rtol=1e-12)
    assert not np.allclose(chosen["skew_hi"], default["skew_hi"])

    status = main(["kstar", str(tmp_path / "lat.npz"), "--resamples", "0"])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    assert err.strip().count("\n") == 0 and "resamples" in err
