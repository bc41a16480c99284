"""kstarlab.paths: the one home of every output path, for the rules, the jobs and the docs."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest
import yaml

from kstarlab import paths
from kstarlab.geometry import analysis
from kstarlab.kstar import embeddings
from kstarlab.workflow.jobs import geometry as geometry_jobs
from kstarlab.workflow.jobs import reports
from system import REPO, snakemake

SMK = [REPO / "Snakefile", *sorted((REPO / "workflow/rules").glob("*.smk"))]
W = ("{model}", "{layer}", "{transform}", "{metric}")


def test_the_layout():
    """The layout, spelled out: the oracle for the builders (and for the docs)."""
    assert paths.kstar_cell(*W) == "results/kstar/{model}/{layer}/{transform}/{metric}.csv"
    assert (
        paths.kstar_cell("mlp", "logit", "noise-0.1", "minkowski-3", kind="classes")
        == "results/kstar/mlp/logit/noise-0.1/minkowski-3.classes.csv"
    )
    assert paths.latents("resnet-sin+in", "pgd-2") == "results/latents/resnet-sin+in/pgd-2.h5"
    assert paths.trained_checkpoint("{model}") == "results/models/{model}.pt"
    assert paths.training_record("vit.2") == "results/models/vit.2.json"
    assert paths.checkpoint_record("w/a.ckpt") == "w/a.json"
    assert paths.weights_card("r18") == "results/models/r18.weights.json"
    assert paths.DATASET_CARD == "results/data/dataset.json"
    assert paths.KSTAR_SUMMARY == "results/kstar/summary.csv"
    assert paths.study_table("{study}", "patterns") == "results/tables/{study}.patterns.csv"
    assert paths.study_figure("noise", "trend") == "results/figures/noise/trend.png"
    assert paths.study_projection_coordinates("s") == "results/figures/s/projections.csv"
    assert paths.geometry_model("mlp", "features") == "results/geometry/mlp/features.h5"
    assert paths.geometry_figure("heatmap", ".pdf") == (
        "results/geometry/figures/corruption_similarity.pdf"
    )
    assert paths.embedding_demo("iris") == "results/embeddings/demo/iris.npz"
    assert paths.embedding_kstar("x", "classes") == "results/embeddings/kstar/x.classes.csv"
    assert paths.embedding_table("latex") == "results/embeddings/table.tex"
    assert paths.rebase(paths.KSTAR_SUMMARY, "/tmp/run") == Path("/tmp/run/kstar/summary.csv")
    for bad in (
        lambda: paths.study_figure("s", "nosuch"),
        lambda: paths.geometry_figure("embedding", ".svg"),
        lambda: paths.kstar_cell(*W, kind="nosuch"),
    ):
        with pytest.raises(KeyError):
            bad()


def test_pruning_summary_files():
    """The pruning summary's outputs are exactly what `summarise_pruning` writes: its keys,
    and a PDF beside each PNG."""
    from kstarlab.pruning.comparison import OUTPUTS

    outputs = paths.pruning_summary("s")
    assert {k for k in outputs if not k.endswith("_pdf")} == set(OUTPUTS)
    for key in (k for k in outputs if k.endswith("_pdf")):
        assert outputs[key] == outputs[key.replace("_pdf", "_fig")].replace(".png", ".pdf")
    assert outputs["lottery_fig"] == "results/pruning/s/figures/robustness_lottery.png"


def test_geometry_summary_files():
    outputs = paths.geometry_summary("out")
    assert outputs["poster"] == "out/poster_tables.md"
    assert outputs["scatter_fig"] == "out/figures/angle_length.png"
    assert outputs["scatter_pdf"] == "out/figures/angle_length.pdf"
    assert len(set(outputs.values())) == len(outputs) == 3 + 2 * len(paths.GEOMETRY_FIGURES)


def _keys_read(function, argument: str) -> set[str]:
    """The constant keys ``function`` reads from its mapping argument ``argument``."""
    tree = ast.parse(inspect.getsource(function))
    return {
        node.slice.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and node.value.id == argument
        and isinstance(node.slice, ast.Constant)
    }


@pytest.mark.parametrize(
    ("function", "keys"),
    [
        (
            analysis.summarise_models,
            set(paths.geometry_summary()) - {f"{k}_pdf" for k in paths.GEOMETRY_FIGURES},
        ),
        (geometry_jobs.geometry_model, set(paths.GEOMETRY_MODEL_FILES)),
        (reports.study_tables, set(paths.STUDY_TABLES) - {"html"}),
        (embeddings.write_embedding_tables, set(paths.EMBEDDING_TABLES)),
    ],
)
def test_the_jobs_read_the_keys_the_paths_give(function, keys):
    """A job taking a dict of outputs (the rule's named outputs) reads exactly these keys
    (the PDFs are written beside their PNGs, not looked up)."""
    assert _keys_read(function, "outputs") == keys


def _used_in_rules() -> set[str]:
    text = "\n".join(p.read_text() for p in SMK)
    return set(re.findall(r"\bpaths\.(\w+)", text))


def test_every_builder_is_used_by_the_rules():
    """The rules build every output from kstarlab.paths: each builder is called there, but
    `rebase` (a copied run), `pruned_entity` (the config check names the pruned models) and
    the parts of `geometry_summary` (its figures, one by one for the docs; the explorer rule
    reads its embedding table)."""
    builders = {
        name
        for name, value in vars(paths).items()
        if inspect.isfunction(value) and value.__module__ == paths.__name__
    }
    parts = {"rebase", "pruned_entity", "geometry_figure"}
    assert builders - _used_in_rules() == parts


# The families of output file, as wildcard patterns: each must be planned by the rules.
FAMILIES = {
    "dataset card": paths.DATASET_CARD,
    "digits": paths.digits_file("{s}"),
    "checkpoint": paths.trained_checkpoint("{m}"),
    "training record": paths.training_record("{m}"),
    "weights card": paths.weights_card("{m}"),
    "latents": paths.latents("{m}", "{t}"),
    **{
        f"k* {kind}": paths.kstar_cell("{m}", "{l}", "{t}", "{d}", kind)
        for kind in paths.KSTAR_TABLES
    },
    "k* summary": paths.KSTAR_SUMMARY,
    **{f"table {kind}": paths.study_table("{s}", kind) for kind in paths.STUDY_TABLES},
    **{f"figure {name}": paths.study_figure("{s}", name) for name in paths.STUDY_FIGURES},
    "projection coordinates": paths.study_projection_coordinates("{s}"),
    **{
        f"geometry {kind}": paths.geometry_model("{m}", kind) for kind in paths.GEOMETRY_MODEL_FILES
    },
    **{f"geometry {key}": path for key, path in paths.geometry_summary().items()},
    "embedding demo": paths.embedding_demo("{d}"),
    **{f"embedding k* {kind}": paths.embedding_kstar("{s}", kind) for kind in paths.KSTAR_TABLES},
    **{f"embedding {kind}": paths.embedding_table(kind) for kind in paths.EMBEDDING_TABLES},
    "embedding distributions": paths.EMBEDDING_DISTRIBUTIONS,
    "pruning benchmark images": paths.pruning_benchmarks("{s}"),
    "pruned checkpoint": paths.pruned_checkpoint("{s}", "{e}"),
    "pruned record": paths.checkpoint_record(paths.pruned_checkpoint("{s}", "{e}")),
    "pruning analysis": paths.pruning_analysis("{s}", "{e}"),
    **{f"pruning {key}": path for key, path in paths.pruning_summary("{s}").items()},
    "explorer": paths.EXPLORER,
}


def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(pattern)))


def _dvc_outs() -> list[str]:
    spec = yaml.safe_load((REPO / "dvc.yaml").read_text())
    return [next(iter(out)) for stage in spec["stages"].values() for out in stage["outs"]]


@pytest.fixture(scope="module")
def planned(tmp_path_factory) -> list[tuple[str, str, str]]:
    """(output file, rule, log) of every job the default config plans (with a pretrained
    model declared, for its weights card), the DVC stages' targets included."""
    tmp = tmp_path_factory.mktemp("paths")
    weights = tmp / "r18.pt"
    weights.write_bytes(b"")
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    cfg["models"]["r18"] = {"arch": "resnet18", "weights": str(weights)}
    config = tmp / "config.yaml"
    config.write_text(yaml.safe_dump(cfg))
    targets = ("all", "dvc_data", "dvc_models", "dvc_latents", "dvc_analysis", "dvc_embeddings")
    targets += ("dvc_pruning",)
    out = snakemake("--summary", *targets, workdir=tmp, configfile=config).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    assert rows[0][:4] == ["output_file", "date", "rule", "log-file(s)"], rows[:1]
    return [(row[0], row[2], row[3]) for row in rows[1:] if row]


def test_every_planned_file_is_one_of_the_families(planned):
    regexes = {name: _regex(pattern) for name, pattern in FAMILIES.items()}
    seen = set()
    for output, rule, log in planned:
        found = {name for name, regex in regexes.items() if regex.fullmatch(output)}
        assert found, f"{output} (rule {rule}) is built by no kstarlab.paths function"
        seen |= found
        assert log == "-" or log.startswith(paths.LOGS + "/"), (rule, log)
    assert set(FAMILIES) == seen, f"never planned: {sorted(set(FAMILIES) - seen)}"


def test_dvc_versions_every_output_once(planned):
    """dvc.yaml's outs (DVC YAML, written by hand) are the folders of kstarlab.paths, and
    each planned file, but the logs and benchmarks, lies under exactly one of them."""
    outs = _dvc_outs()
    folders = [paths.DATA, paths.MODELS, paths.LATENTS, paths.KSTAR, paths.GEOMETRY]
    folders += [paths.EMBEDDINGS, paths.PRUNING, paths.TABLES, paths.FIGURES, paths.REPORT]
    folders += [paths.EXPLORER]
    assert sorted(outs) == sorted(folders)
    for output, rule, _ in planned:
        under = [out for out in outs if output == out or output.startswith(out + "/")]
        assert len(under) == 1, (output, rule, under)
    for unversioned in (paths.LOGS, paths.BENCHMARKS):
        assert not any(unversioned.startswith(out + "/") for out in outs)


def _code_strings(path: Path) -> list[tuple[int, str]]:
    """The string constants of a Python file that are not docstrings."""
    tree = ast.parse(path.read_text(), str(path))
    docstrings = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            docstrings.add(id(first.value))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_no_one_else_spells_a_results_path():
    """Only kstarlab.paths spells ``results/``: no rule file (comments aside), no script,
    no library module, no benchmark script."""
    found = []
    for smk in SMK:
        for number, line in enumerate(smk.read_text().splitlines(), 1):
            code = line.split("#")[0]  # no rule file has a "#" in a string
            if re.search(r"\bresults(/|[\"'])", code):
                found.append(f"{smk.relative_to(REPO)}:{number}: {line.strip()}")
    python = [
        *(REPO / "src/kstarlab").rglob("*.py"),
        *(REPO / "workflow/scripts").glob("*.py"),
        *(REPO / "benchmarks").glob("*.py"),
    ]
    for path in python:
        if path == REPO / "src/kstarlab/paths.py":
            continue
        found += [
            f"{path.relative_to(REPO)}:{number}: {text!r}"
            for number, text in _code_strings(path)
            if "results/" in text
        ]
    assert not found, "spell these with kstarlab.paths:\n" + "\n".join(found)
