"""Write a finished run's results into the README and the docs: tables, figures, fingerprints.

Every number and figure the README and ``docs/`` show comes from ``results/`` through this
module (``make docs``), never by hand. A document marks each generated part with

    <!-- generated: NAME -->
    ...
    <!-- end generated: NAME -->

and :func:`update_docs` replaces what lies between the markers with the block ``NAME`` built
from the results. Figures are copied to ``docs/img/`` under fixed names. The ``fingerprint``
block records the SHA-256 of every zoo checkpoint and of ``results/kstar/summary.csv``, so a
user can tell whether their run reproduced the one shown.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from kstarlab import paths
from kstarlab.errors import InputError
from kstarlab.io import atomic_write
from kstarlab.kstar.summary import PATTERN_LETTER, PATTERNS, as_bool

#: The default config's pruning study, shown in the README.
PRUNING_STUDY = "resnet"

#: Figures shown in the docs: the workflow's output (`kstarlab.paths`) -> docs/img name.
FIGURES = {
    paths.study_figure("architectures", "distributions"): "kstar-architectures.png",
    paths.study_figure("noise", "trend"): "kstar-noise-trend.png",
    paths.EMBEDDING_DISTRIBUTIONS: "kstar-embeddings.png",
    paths.geometry_figure("scatter"): "geometry-angle-length.png",
    paths.geometry_figure("margins"): "geometry-margins.png",
    paths.geometry_figure("embedding"): "geometry-embedding.png",
    paths.geometry_figure("heatmap"): "geometry-corruption-similarity.png",
    paths.geometry_figure("sparsity"): "geometry-accuracy-sparsity.png",
    paths.pruning_summary(PRUNING_STUDY)["lottery_fig"]: "pruning-lottery.png",
    paths.pruning_summary(PRUNING_STUDY)["similarity_fig"]: "pruning-similarity.png",
    paths.pruning_summary(PRUNING_STUDY)["distributions_fig"]: "pruning-distributions.png",
}

#: The documents holding generated blocks, relative to the repository.
DOCUMENTS = ("README.md", "docs/reproducing-the-papers.md", "docs/geometry.md")

MARKER = re.compile(
    r"(<!-- generated: (?P<name>[a-z0-9-]+) -->\n)(?P<body>.*?)(<!-- end generated: (?P=name) -->)",
    re.DOTALL,
)


def sha256(path: Path) -> str:
    """The SHA-256 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _study_tables(results: Path, study: str) -> str:
    """The per-class and pattern-average tables of a study, as its job wrote them."""
    path = paths.rebase(paths.study_table(study, "markdown"), results)
    if not path.is_file():
        raise InputError(f"{path}: missing (run the workflow first: make run)")
    text = path.read_text()
    # Drop the study's own title and caption: the document gives its own context.
    body = text.split("### ", 1)[1] if "### " in text else text
    return "#### " + body.replace("\n### ", "\n#### ").strip() + "\n"


def _study_patterns(results: Path, study: str) -> str:
    """Only the pattern-average table of a study (the README's short form)."""
    text = _study_tables(results, study)
    return "#### " + text.split("\n#### ", 1)[1] if "\n#### " in text else text


def _embeddings_table(results: Path) -> str:
    """Table XXI of the run's embeddings (the demonstration), its caption and note."""
    path = paths.rebase(paths.embedding_table("markdown"), results)
    if not path.is_file():
        raise InputError(f"{path}: missing (run the workflow first: make run)")
    text = path.read_text()
    # Drop the table's own title: the document gives its own heading.
    return (text.split("\n", 1)[1] if text.startswith("## ") else text).strip() + "\n"


def _fingerprint(results: Path) -> str:
    checkpoints = paths.rebase(paths.trained_checkpoint("*"), results)
    files = [
        *sorted(checkpoints.parent.glob(checkpoints.name)),
        paths.rebase(paths.KSTAR_SUMMARY, results),
    ]
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise InputError(f"{missing[0]}: missing (run the workflow first: make run)")
    lines = ["| file | SHA-256 |", "|---|---|"]
    lines += [f"| `{p.relative_to(results.parent)}` | `{sha256(p)}` |" for p in files]
    return "\n".join(lines) + "\n"


def _uncertain(results: Path) -> str:
    """How many classes' patterns the bootstrap interval of γ leaves uncertain: in the whole
    run, then per clean (model, layer, metric) cell with each pattern's count."""
    summary = pd.read_csv(paths.rebase(paths.KSTAR_SUMMARY, results), dtype={"class": str})
    if "pattern_uncertain" not in summary.columns:
        return "(this run's summary has no bootstrap intervals)\n"
    summary["pattern_uncertain"] = as_bool(summary["pattern_uncertain"])
    uncertain = summary["pattern_uncertain"]
    lines = [
        f"{int(uncertain.sum())} of the run's {len(summary)} (model, layer, transform, metric, "
        "class) patterns have a 95% bootstrap interval of γ that crosses a threshold deciding "
        "the pattern (−0.5 or +0.5).",
    ]
    clean = summary[summary["transform"] == "clean"]
    if len(clean):
        heads = [f"{p} ({PATTERN_LETTER[p]}) N (N?)" for p in PATTERNS]
        lines += [
            "",
            "Clean images, per cell: the classes of each pattern (of them uncertain), and the "
            "uncertain classes.",
            "",
            "| model | layer | metric | " + " | ".join(heads) + " | uncertain classes |",
            "|---|---|---|" + "---:|" * len(heads) + "---|",
        ]
        for (model, layer, metric), cell in clean.groupby(["model", "layer", "metric"], sort=False):
            counts = [
                f"{int((cell['pattern'] == p).sum())} "
                f"({int((cell['pattern_uncertain'] & (cell['pattern'] == p)).sum())})"
                for p in PATTERNS
            ]
            names = ", ".join(cell.loc[cell["pattern_uncertain"], "class"]) or "none"
            lines.append(f"| {model} | {layer} | {metric} | {' | '.join(counts)} | {names} |")
    return "\n".join(lines) + "\n"


def _correlations(results: Path) -> str:
    path = paths.rebase(paths.geometry_table("correlations"), results)
    if not path.is_file():
        raise InputError(f"{path}: missing (run the workflow first: make run)")
    table = pd.read_csv(path)
    table = table[table["feature"].isin(["angle", "length", "margin"])]
    wide = table.pivot_table(
        index=["robustness", "model"], columns="feature", values="pearson_r", sort=False
    )
    lines = ["| robustness | model | rc-angle | rc-l2 | rc-margin |", "|---|---|---|---|---|"]
    for (robustness, model), row in wide.iterrows():
        cells = [f"{row[f]:+.2f}".replace("-", "−") for f in ("angle", "length", "margin")]
        lines.append(f"| {robustness} | {model} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def _pruning_models(results: Path, study: str = PRUNING_STUDY) -> str:
    """A pruning study's models.csv as a table: accuracies in %, the ratio of corruption to
    clean accuracy, and whether it beats the dense model's ratio (the robustness lottery)."""
    path = paths.rebase(paths.pruning_summary(study)["models"], results)
    if not path.is_file():
        raise InputError(f"{path}: missing (run the workflow first: make run)")
    table = pd.read_csv(path)
    ratio = table["corruption_accuracy"] / table["clean_accuracy"]
    dense = ratio[table["approach"] == paths.DENSE]
    dense_ratio = float(dense.iloc[0]) if len(dense) else float("nan")
    lines = [
        "| approach | sparsity | measured | clean % | corrupted % | ratio | vs dense | train s |",
        "|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for (_, row), r in zip(table.iterrows(), ratio, strict=True):
        dense_row = row["approach"] == paths.DENSE
        verdict = "—" if dense_row else ("more robust" if r > dense_ratio else "more brittle")
        seconds = "—" if pd.isna(row["train_seconds"]) else f"{row['train_seconds']:.1f}"
        lines.append(
            f"| {row['approach']} | {row['sparsity']:g} | {row['measured_sparsity']:.3f} | "
            f"{100 * row['clean_accuracy']:.1f} | {100 * row['corruption_accuracy']:.1f} | "
            f"{r:.3f} | {verdict} | {seconds} |"
        )
    return "\n".join(lines) + "\n"


BLOCKS: dict[str, Callable[[Path], str]] = {
    "pruning-models": _pruning_models,
    "architectures-tables": lambda r: _study_tables(r, "architectures"),
    "architectures-patterns": lambda r: _study_patterns(r, "architectures"),
    "layers-tables": lambda r: _study_tables(r, "layers"),
    "embeddings-table": _embeddings_table,
    "fingerprint": _fingerprint,
    "uncertain": _uncertain,
    "geometry-correlations": _correlations,
}


def fill(text: str, results: Path, where: str = "document") -> str:
    """The text with every generated block rebuilt from ``results``."""

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in BLOCKS:
            raise InputError(f"{where}: unknown generated block {name!r}; known: {sorted(BLOCKS)}")
        return match[1] + BLOCKS[name](results) + match[4]

    return MARKER.sub(replace, text)


def explorer_fragment(results: Path, study: str = PRUNING_STUDY) -> str:
    """The selection the README's explorer screenshots show: the pruning study's lottery
    winner beside its dense model, the sample most fragile to pruning and corruption, and
    the class of the architectures study's first cell with the lowest mean k*."""
    from kstarlab.pruning.comparison import lottery_winner

    outputs = paths.pruning_summary(study)
    if not paths.rebase(outputs["models"], results).is_file():
        return ""  # a run without that study: the page's own default selection
    winner, _ = lottery_winner(pd.read_csv(paths.rebase(outputs["models"], results)))
    fragile = pd.read_csv(paths.rebase(outputs["fragile"], results))
    parts = [f"model={winner}", f"model2={paths.DENSE}", f"sample={fragile['sample'].iloc[0]}"]
    summary = pd.read_csv(paths.rebase(paths.KSTAR_SUMMARY, results), dtype={"class": str})
    # the architectures study's cell of the dense model (the paper's logit layer)
    ours = summary[summary["model"] == study]
    paper = ours[
        (ours["layer"] == "logit")
        & (ours["transform"] == "clean")
        & (ours["metric"] == "euclidean")
    ]
    cell = (paper if len(paper) else ours).iloc[0]
    rows = summary[
        (summary["model"] == cell["model"])
        & (summary["layer"] == cell["layer"])
        & (summary["transform"] == cell["transform"])
        & (summary["metric"] == cell["metric"])
    ].reset_index(drop=True)
    key = "/".join(str(cell[k]) for k in ("model", "layer", "transform", "metric"))
    parts += [f"cell={key}", f"class={int(rows['mean'].idxmin())}"]
    return "#" + "&".join(parts)


def explorer_screenshots(results: Path, repo: Path) -> list[Path]:
    """docs/img/explorer-<view>.png: each view of the run's explorer page in headless
    Chromium, at `explorer_fragment`'s selection (none when the run made no page)."""
    from kstarlab.explorer.browser import screenshot_views

    page = paths.rebase(paths.EXPLORER, results)
    if not page.is_file():
        print(f"note: {page} not in this run; docs/img/explorer-*.png kept", file=sys.stderr)
        return []
    return screenshot_views(page, repo / "docs" / "img", fragment=explorer_fragment(results))


def update_docs(
    results: str | Path, repo: str | Path = ".", documents: Iterable[str] = DOCUMENTS
) -> list[Path]:
    """Rebuild every generated block and figure of the docs from a finished run's results.

    Returns the files written. Figures whose source the run did not make (a config without
    that study) are left as they are, and so reported by name.
    """
    results, repo = Path(results), Path(repo)
    if not results.is_dir():
        raise InputError(f"{results}: no such results folder (run the workflow first: make run)")
    written: list[Path] = []
    for name in documents:
        path = repo / name
        if not path.is_file():
            continue
        text = path.read_text()
        new = fill(text, results, where=name)
        if new != text:
            with atomic_write(path) as fh:
                fh.write(new)
            written.append(path)
    for output, target in FIGURES.items():
        source = paths.rebase(output, results)
        if source.is_file():
            dest = repo / "docs" / "img" / target
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)
            written.append(dest)
        else:
            print(f"note: {source} not in this run; docs/img/{target} kept", file=sys.stderr)
    return written + explorer_screenshots(results, repo)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default=paths.RESULTS)
    parser.add_argument("--repo", default=".")
    args = parser.parse_args(argv)
    try:
        for path in update_docs(args.results, args.repo):
            print(f"wrote {path}")
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
