"""`make docs`: the README's and docs' results come from a run's files, never by hand."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pandas as pd
import pytest

from kstarlab.errors import InputError
from kstarlab.workflow.results_docs import BLOCKS, DOCUMENTS, MARKER, fill, main, update_docs

REPO = Path(__file__).resolve().parents[2]


def block(name: str, body: str = "stale\n") -> str:
    return f"<!-- generated: {name} -->\n{body}<!-- end generated: {name} -->\n"


def test_blocks_are_rebuilt_from_the_smoke_run(smoke_run, tmp_path):
    from system import ensure_debian_package

    ensure_debian_package("chromium", "chromium")  # the explorer's screenshots
    results = smoke_run / "results"
    repo = tmp_path / "repo"
    repo.mkdir()
    text = "# doc\n\n" + block("architectures-tables") + "\nprose\n\n" + block("fingerprint")
    text += block("layers-tables")
    (repo / "README.md").write_text(text)
    written = update_docs(results, repo)
    out = (repo / "README.md").read_text()
    assert repo / "README.md" in written
    assert "stale" not in out and "prose" in out
    # the tables are the study job's own Markdown, row for row
    for study in ("architectures", "layers"):
        rows = [
            line
            for line in (results / "tables" / f"{study}.md").read_text().splitlines()
            if line.startswith("| ")
        ]
        assert rows and all(row in out for row in rows)
    # the fingerprint is the SHA-256 of the checkpoint and the summary
    for rel in ("models/mlp.pt", "kstar/summary.csv"):
        digest = hashlib.sha256((results / rel).read_bytes()).hexdigest()
        assert f"| `results/{rel}` | `{digest}` |" in out
    # the figure is copied under its docs name
    copied = repo / "docs/img/kstar-architectures.png"
    assert copied.read_bytes() == (results / "figures/architectures/distributions.png").read_bytes()
    # each view of the explorer page, screenshot in headless Chromium
    for view in ("map", "geometry", "benchmarks", "samples", "kstar", "projections"):
        assert (repo / f"docs/img/explorer-{view}.png").stat().st_size > 5_000, view
    # a second pass changes nothing
    assert repo / "README.md" not in update_docs(results, repo)


def test_correlation_block_is_the_csv_pivoted(tmp_path):
    results = tmp_path / "results"
    (results / "geometry").mkdir(parents=True)
    pd.DataFrame(
        {
            "model": ["m"] * 3,
            "robustness": ["corruption"] * 3,
            "feature": ["angle", "length", "margin"],
            "pearson_r": [-0.6149, 0.3351, 0.0049],
        }
    ).to_csv(results / "geometry/correlations.csv", index=False)
    out = fill(block("geometry-correlations"), results)
    assert "| corruption | m | −0.61 | +0.34 | +0.00 |" in out


def test_uncertain_block_counts_each_clean_cell(tmp_path):
    results = tmp_path / "results"
    (results / "kstar").mkdir(parents=True)
    rows = [  # model, transform, class, pattern, uncertain
        ("a", "clean", "0", "Clustered", False),
        ("a", "clean", "1", "Clustered", True),
        ("a", "clean", "2", "Overlapped", True),
        ("a", "noise-0.1", "0", "Fractured", True),
        ("b", "clean", "0", "Fractured", False),
    ]
    frame = pd.DataFrame(rows, columns=["model", "transform", "class", "pattern", "u"])
    frame = frame.assign(layer="logit", metric="euclidean", skew_lo=0.0, skew_hi=1.0)
    frame.rename(columns={"u": "pattern_uncertain"}).to_csv(results / "kstar/summary.csv")
    out = fill(block("uncertain"), results)
    assert "3 of the run's 5 (model, layer, transform, metric, class) patterns" in out
    assert "| a | logit | euclidean | 0 (0) | 1 (1) | 2 (1) | 1, 2 |" in out
    assert "| b | logit | euclidean | 1 (0) | 0 (0) | 0 (0) | none |" in out
    assert "noise" not in out


def test_embeddings_block_is_the_table_job_markdown_without_its_title(tmp_path):
    results = tmp_path / "results"
    (results / "embeddings").mkdir(parents=True)
    table = "| Task | Architecture |\n|---|---|\n| Demonstration: t | m |\n"
    (results / "embeddings/table.md").write_text(f"## Table XXI\n\nA caption.\n\n{table}")
    out = fill(block("embeddings-table"), results)
    assert out == block("embeddings-table", f"A caption.\n\n{table}")
    with pytest.raises(InputError, match=r"embeddings/table\.md: missing"):
        fill(block("embeddings-table"), tmp_path)


def test_unknown_block_and_missing_results_are_one_line_errors(tmp_path, capsys):
    with pytest.raises(InputError, match="unknown generated block 'nosuch'"):
        fill(block("nosuch"), tmp_path)
    with pytest.raises(InputError, match=r"tables/architectures\.md: missing"):
        fill(block("architectures-tables"), tmp_path)
    assert main([str(tmp_path / "absent")]) == 2
    assert "no such results folder" in capsys.readouterr().err


def test_the_repositorys_documents_have_only_known_well_formed_blocks():
    names = []
    for doc in DOCUMENTS:
        path = REPO / doc
        if not path.is_file():
            continue
        text = path.read_text()
        opened = re.findall(r"<!-- generated: ([a-z0-9-]+) -->", text)
        found = [m["name"] for m in MARKER.finditer(text)]
        assert opened == found, f"{doc}: a generated block is not closed"
        names += found
    assert names, "the README shows no generated results"
    assert set(names) <= set(BLOCKS)


def test_the_docs_figures_exist():
    from kstarlab.workflow.results_docs import FIGURES

    for name in FIGURES.values():
        assert (REPO / "docs/img" / name).is_file()
