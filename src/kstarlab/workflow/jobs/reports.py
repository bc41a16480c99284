"""A study's tables: CSV, Markdown and LaTeX, and the HTML page of the report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from kstarlab.io import atomic_write, write_csv
from kstarlab.workflow.jobs.summaries import study_summary


def study_tables(
    inputs: Sequence[str],
    study: Mapping[str, Any],
    outputs: Mapping[str, str],
    latents: Sequence[str] = (),
) -> None:
    """The per-class and pattern-average tables of one study, as CSV, Markdown and LaTeX.

    ``latents`` (one file per cell) let the caption say which layers were pooled."""
    from kstarlab.kstar.tables import (
        pattern_table,
        per_class_table,
        pooled_layers,
        pooling_note,
        to_latex,
        to_markdown,
    )

    summary = study_summary(inputs, study)
    rows = study["rows"]
    per_class = per_class_table(summary, rows, study["classes"])
    patterns = pattern_table(summary, rows)
    write_csv(per_class, outputs["per_class"])
    write_csv(patterns, outputs["patterns"])
    title = f"Tables {study['tables']}" if study.get("tables") else "Tables"
    note = pooling_note(pooled_layers(latents, study["cells"])) if latents else ""
    caption = " ".join(t for t in (study.get("caption", ""), note) if t)
    with atomic_write(outputs["markdown"]) as fh:
        fh.write(f"## {title}\n\n{caption}\n\n### Per class (selected classes)\n\n")
        fh.write(to_markdown(per_class))
        fh.write("\n### Average of classes per pattern\n\n")
        fh.write(to_markdown(patterns))
    with atomic_write(outputs["latex"]) as fh:
        fh.write(to_latex(per_class, caption=f"{caption} Per class."))
        fh.write("\n")
        fh.write(to_latex(patterns, caption=f"{caption} Average of classes per pattern."))


def table_html(markdown: str, per_class: str, patterns: str, title: str, out: str) -> None:
    """An HTML page of a study's tables for the report."""
    pc = pd.read_csv(per_class, header=[0, 1], index_col=None)
    pa = pd.read_csv(patterns, header=[0, 1], index_col=None)
    intro = Path(markdown).read_text().split("###")[0].replace("## ", "")
    style = (
        "<style>body{font-family:sans-serif;font-size:13px} table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}</style>"
    )
    body = [
        f"<html><head><meta charset='utf-8'><title>{title}</title>{style}</head><body>",
        f"<h2>{title}</h2><p>{intro}</p>",
        "<h3>Per class (selected classes)</h3>",
        pc.to_html(index=False, float_format=lambda v: f"{v:.2f}", na_rep="—"),
        "<h3>Average of classes per pattern</h3>",
        pa.to_html(index=False, float_format=lambda v: f"{v:.2f}", na_rep="—"),
        "</body></html>",
    ]
    with atomic_write(out) as fh:
        fh.write("\n".join(body))
