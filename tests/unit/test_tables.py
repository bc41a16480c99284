"""The paper-layout tables hold exactly the numbers of the tidy summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kstarlab import kstar_summary, kstar_values, pattern_averages
from kstarlab.errors import InputError
from kstarlab.kstar.tables import pattern_table, per_class_table, to_latex, to_markdown


@pytest.fixture(scope="module")
def summary():
    rng = np.random.default_rng(0)
    frames = []
    for model in ("mlp", "resnet"):
        for metric in ("euclidean", "cityblock"):
            X = rng.normal(size=(120, 5))
            y = np.arange(120) % 4
            X[:, 0] += y * (2 if model == "resnet" else 0.5)
            correct = rng.random(120) < 0.8
            s = kstar_summary(
                kstar_values(X, y, metric=metric, dtype="float64"),
                y,
                class_names=["cat", "dog", "car", "ship"],
                accuracy=correct,
            )
            s.insert(0, "metric", metric)
            s.insert(0, "transform", "clean")
            s.insert(0, "layer", "avgpool")
            s.insert(0, "model", model)
            frames.append(s)
    return pd.concat(frames, ignore_index=True)


def test_per_class_table_holds_the_summary_values(summary):
    table = per_class_table(summary, ["model", "metric"], ["dog", "ship"])
    assert list(table.columns[:5]) == [("dog", s) for s in ("μ", "σ", "γ", "Acc", "Pat")]
    for (model, metric), row in table.iterrows():
        for cls in ("dog", "ship"):
            ref = summary[
                (summary.model == model) & (summary.metric == metric) & (summary["class"] == cls)
            ].iloc[0]
            assert row[(cls, "μ")] == ref["mean"] and row[(cls, "σ")] == ref["std"]
            assert row[(cls, "γ")] == ref["skew"] and row[(cls, "Acc")] == pytest.approx(
                100 * ref["accuracy"]
            )
            assert (
                row[(cls, "Pat")]
                == {"Fractured": "A", "Overlapped": "B", "Clustered": "C"}[ref["pattern"]]
            )


def test_pattern_table_matches_pattern_averages(summary):
    table = pattern_table(summary, ["model", "metric"])
    assert len(table) == 4
    for (model, metric), row in table.iterrows():
        ref = pattern_averages(
            summary[(summary.model == model) & (summary.metric == metric)]
        ).set_index("pattern")
        assert row[("Fractured (A)", "N")] == ref.loc["Fractured", "n_classes"]
        np.testing.assert_equal(row[("Clustered (C)", "μ")], ref.loc["Clustered", "mean"])
        assert row[("All classes", "γ")] == pytest.approx(ref.loc["All", "skew"], nan_ok=True)
        assert row[("All classes", "Acc")] == pytest.approx(100 * ref.loc["All", "accuracy"])


def test_renderers_show_counts_as_integers_and_missing_as_dash(summary):
    table = pattern_table(summary, ["model"])
    md = to_markdown(table)
    lines = md.strip().splitlines()
    assert lines[0].startswith("| model | Fractured (A) μ")
    assert len(lines) == 2 + table.shape[0]
    n_col = lines[0].split(" | ").index("Fractured (A) N")
    for line in lines[2:]:
        assert line.split(" | ")[n_col].isdigit()
    frame = pd.DataFrame({"v": [np.nan, 1.234]}, index=pd.Index(["a", "b_c"], name="k"))
    assert "| a | — |" in to_markdown(frame)
    tex = to_latex(frame, caption="μ of 50%")
    assert r"b\_c & 1.23 \\" in tex and r"$\mu$ of 50\%" in tex and "a & -- " in tex


def test_unknown_class_or_key_is_a_clear_error(summary):
    with pytest.raises(InputError, match="'zebra'"):
        per_class_table(summary, ["model"], ["zebra"])
    with pytest.raises(InputError, match="unknown row key"):
        pattern_table(summary, ["colour"])
