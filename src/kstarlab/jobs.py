"""The workflow's jobs as plain functions: each Snakemake script unpacks its rule and calls
one of these, so the pipeline's logic is importable, testable and usable without Snakemake.

Every function takes explicit paths and settings, writes its outputs atomically, and
logs to the job's log file when run under `job_log`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kstarlab.io import atomic_write, write_csv
from kstarlab.tables import SUMMARY_COLUMNS

# Jobs run on nodes without a display: plot to files (the library never forces a backend).
os.environ.setdefault("MPLBACKEND", "Agg")

log = logging.getLogger("kstarlab")


@contextlib.contextmanager
def job_log(path: str | None) -> Iterator[None]:
    """Send the job's logging, stdout and stderr (tracebacks included) to ``path``."""
    if not path:
        yield
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh, contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
        handler = logging.StreamHandler(fh)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        try:
            yield
        except BaseException:
            import traceback

            traceback.print_exc(file=fh)
            raise
        finally:
            log.removeHandler(handler)
            fh.flush()


def set_threads(threads: int) -> None:
    """Use the threads Snakemake gave the job, and no more."""
    import torch

    torch.set_num_threads(max(1, int(threads)))


# --------------------------------------------------------------------------- data, models


def dataset_card(dataset: Mapping[str, Any], out: str) -> None:
    """A JSON description of the evaluated dataset: name, size, classes, parameters."""
    data = load_images(dataset)
    card = {
        "name": data.name,
        "n_samples": len(data),
        "class_names": list(data.class_names),
        "params": data.params,
        "counts": np.bincount(data.labels, minlength=len(data.class_names)).tolist(),
    }
    with atomic_write(out) as fh:
        json.dump(card, fh, indent=2, sort_keys=True, default=str)
        fh.write("\n")


def weights_file(entry: Any) -> Path:
    """The file a pretrained model's weights are read from: the configured path, or for a
    torchvision weights enum its file in the local torch hub cache (never downloaded).

    ``entry`` is a `kstarlab.models.registry.ModelEntry`; the file is resolved exactly as
    `load_model` resolves it, and a missing one is the loader's one-line `InputError`.
    """
    from kstarlab.errors import InputError
    from kstarlab.models.pretrained import (
        cached_weights_file,
        looks_like_weights_enum,
        torchvision_names,
        weights_enum,
    )
    from kstarlab.models.zoo import ZOO
    from kstarlab.names import is_no_weights, looks_like_weights_name

    spec = entry.weights
    if is_no_weights(spec):
        raise InputError(f"model {entry.name!r} has no weights file (random initialisation)")
    if (
        entry.arch not in ZOO
        and entry.arch in torchvision_names()
        and (looks_like_weights_enum(entry.arch, spec) or looks_like_weights_name(spec))
    ):
        return cached_weights_file(weights_enum(entry.arch, spec))
    path = Path(spec)
    if not path.is_file():
        raise InputError(f"weights file not found: {path}")
    return path


def weights_card(model_name: str, model: Mapping[str, Any], out: str) -> None:
    """A JSON record of a pretrained model's weights: the entry's name, arch, weights (as
    configured), trusted and num_classes (when set), and the file they resolve to with its
    size and SHA-256. The file is hashed, not loaded, so the card is cheap; its bytes depend
    only on the entry and the file (sorted keys, no timestamps)."""
    from kstarlab.models.checkpoints import file_sha256
    from kstarlab.models.registry import ModelEntry

    entry = ModelEntry.from_dict(model_name, dict(model))
    path = weights_file(entry)
    card: dict[str, Any] = {
        "name": entry.name,
        "arch": entry.arch,
        "weights": entry.weights,
        "file": str(path),
        "size_bytes": path.stat().st_size,
        "sha256": file_sha256(path),
        "trusted": entry.trusted,
    }
    if entry.num_classes is not None:
        card["num_classes"] = entry.num_classes
    with atomic_write(out) as fh:
        json.dump(card, fh, indent=2, sort_keys=True)
        fh.write("\n")
    log.info(
        "weights of %s: %s (%d bytes, sha256 %s)",
        model_name,
        path,
        card["size_bytes"],
        card["sha256"],
    )


def load_images(dataset: Mapping[str, Any]) -> Any:
    from kstarlab.data import load_dataset

    if dataset["name"] == "digits":
        return load_dataset("digits", split=dataset["split"], seed=dataset["split_seed"])
    return load_dataset(
        dataset["name"],
        root=dataset.get("root"),
        resize=dataset.get("resize", 256),
        crop=dataset.get("crop", 224),
        class_map=dataset.get("class_map"),
    )


def train(
    settings: Mapping[str, Any], out_model: str, device: str = "cpu", progress: bool = False
) -> None:
    """Train one zoo model and save its checkpoint and metadata."""
    from kstarlab.train import TrainConfig, save_trained, train_zoo

    result = train_zoo(TrainConfig(**settings), device=device, progress=progress)
    save_trained(result, out_model)
    log.info("trained %s: %s", out_model, json.dumps(result.metadata, default=str))


def load_model_entry(name: str, entry: Mapping[str, Any], seed: int) -> Any:
    from kstarlab.models.registry import ModelEntry, load_model

    return load_model(ModelEntry.from_dict(name, dict(entry)), seed=seed)


def extract(
    model_name: str,
    model: Mapping[str, Any],
    transform: str,
    settings: Mapping[str, Any],
    out: str,
    device: str = "cpu",
) -> None:
    """Extract the planned layers of one model under one transform to HDF5."""
    from kstarlab.extract import extract as run_extract

    loaded = load_model_entry(model_name, model, settings["seed"])
    data = load_images(settings["dataset"])
    ext = settings["extraction"]
    transform_arg: Any = transform
    if transform != "clean":
        from kstarlab.perturb import parse_transform

        transform_arg = parse_transform(
            transform, seed=settings["seed"], config=perturb_config(settings)
        )
    result = run_extract(
        loaded,
        data,
        settings["layers"],
        out,
        transform=transform_arg,
        batch_size=ext["batch_size"],
        float16=ext["float16"],
        pool_above=ext.get("pool_above"),
        compression=ext["compression"],
        seed=settings["seed"],
        device=device,
    )
    log.info(
        "extracted %s: accuracy %.4f, %.0f img/s", out, result.accuracy, result.images_per_second
    )


def perturb_config(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The workflow's ``pgd:`` and ``style:`` settings as `kstarlab.perturb` options."""
    out: dict[str, Any] = {}
    if "pgd" in settings:
        pgd = settings["pgd"]
        out.update(
            pgd_steps=pgd["steps"],
            pgd_rel_stepsize=pgd["rel_stepsize"],
            pgd_random_start=pgd["random_start"],
        )
    if "style" in settings:
        style = settings["style"]
        out.update(
            adain_encoder=style.get("encoder"),
            adain_decoder=style.get("decoder"),
            adain_styles=style.get("styles"),
        )
    return out


# --------------------------------------------------------------------------- k*


def kstar(
    latents: str,
    layer: str,
    settings: Mapping[str, Any],
    out_samples: str,
    out_classes: str,
    device: str = "cpu",
) -> None:
    """k* of one layer of one latents file: per-sample values and the per-class table."""
    from kstarlab.io import open_latents
    from kstarlab.kstar import kstar_values
    from kstarlab.summary import kstar_summary

    with open_latents(latents, layer=layer) as data:
        k = kstar_values(
            data.X,
            data.y,
            metric=settings["metric"],
            p=settings.get("p"),
            dtype=settings["dtype"],
            block_size=settings.get("block_size"),
            device=device,
        )
        y = np.asarray(data.y)
        correct = None if data.predictions is None else np.asarray(data.predictions) == y
        summary = kstar_summary(k, y, class_names=data.class_names, accuracy=correct)
    samples = pd.DataFrame({"index": np.arange(y.size), "label": y, "kstar": k})
    if correct is not None:
        samples["correct"] = correct.astype(np.int8)
    write_csv(samples, out_samples, index=False, float_format="%.17g")
    write_csv(summary, out_classes, index=False, float_format="%.17g")


def read_cell(path: str, cell: Sequence[str]) -> pd.DataFrame:
    """A per-class table with its (model, layer, transform, metric) columns in front."""
    frame = pd.read_csv(path, dtype={"class": str})
    for key, value in zip(("model", "layer", "transform", "metric"), cell, strict=True):
        frame[key] = value
    if "accuracy" not in frame:
        frame["accuracy"] = np.nan
    return frame[SUMMARY_COLUMNS]


def kstar_summary_table(inputs: Sequence[str], cells: Sequence[Sequence[str]], out: str) -> None:
    """The tidy summary: one row per (model, layer, transform, metric, class)."""
    frames = [read_cell(p, c) for p, c in zip(inputs, cells, strict=True)]
    write_csv(pd.concat(frames, ignore_index=True), out, index=False, float_format="%.17g")


# --------------------------------------------------------------------------- studies


def study_summary(inputs: Sequence[str], study: Mapping[str, Any]) -> pd.DataFrame:
    frames = [read_cell(p, c) for p, c in zip(inputs, study["cells"], strict=True)]
    return pd.concat(frames, ignore_index=True)


def study_tables(
    inputs: Sequence[str],
    study: Mapping[str, Any],
    outputs: Mapping[str, str],
    latents: Sequence[str] = (),
) -> None:
    """The per-class and pattern-average tables of one study, as CSV, Markdown and LaTeX.

    ``latents`` (one file per cell) let the caption say which layers were pooled."""
    from kstarlab.tables import (
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


def _cell_title(cell: Sequence[str], rows: Sequence[str]) -> str:
    keys = ("model", "layer", "transform", "metric")
    shown = [v for k, v in zip(keys, cell, strict=True) if k in rows] or list(cell)
    return " / ".join(shown)


def study_distributions(inputs: Sequence[str], study: Mapping[str, Any], out: str) -> None:
    """k* per class as violin and boxen plots, one row per cell of the study's grid."""
    from kstarlab.figures import save_figure
    from kstarlab.kstar_plots import distribution_grid

    panels = []
    for path, cell in zip(inputs, study["cells"], strict=True):
        samples = pd.read_csv(path)
        classes = pd.read_csv(str(path)[: -len(".csv")] + ".classes.csv", dtype={"class": str})
        panels.append((_cell_title(cell, study["rows"]), samples, classes))
    save_figure(distribution_grid(panels), out, formats=(".png",))


def study_trend(inputs: Sequence[str], study: Mapping[str, Any], out: str) -> None:
    """μ, γ and pattern counts against the transform's parameter, one line per model."""
    from kstarlab.figures import save_figure
    from kstarlab.kstar_plots import trend_plot
    from kstarlab.pipeline import trend_label, trend_values

    summary = study_summary(inputs, study)
    values = trend_values(summary["transform"].unique())
    summary["parameter"] = summary["transform"].map(values)
    summary = summary.dropna(subset=["parameter"])
    label = trend_label(values)
    varied = [k for k in ("model", "layer", "metric") if summary[k].nunique() > 1] or ["model"]
    summary["model"] = summary[varied].astype(str).agg(" ".join, axis=1)
    save_figure(trend_plot(summary, "parameter", label=label), out, formats=(".png",))


def study_projections(
    samples: Sequence[str], latents: Sequence[str], study: Mapping[str, Any], seed: int, out: str
) -> None:
    """The paper's Figure 4 pairing for every cell: k* beside t-SNE, Isomap, PCA, UMAP."""
    from kstarlab.figures import plt, save_figure
    from kstarlab.io import open_latents
    from kstarlab.kstar_plots import projection_rows

    rows = []
    for path, h5, cell in zip(samples, latents, study["cells"], strict=True):
        k = pd.read_csv(path)["kstar"].to_numpy()
        with open_latents(h5, layer=cell[1]) as data:
            X = np.asarray(data.X[()])
            rows.append(
                (_cell_title(cell, study["rows"]), X, np.asarray(data.y), k, data.class_names)
            )
    fig = projection_rows(rows, seed=seed)
    save_figure(fig, out, formats=(".png",))
    plt.close("all")


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


# --------------------------------------------------------------------------- geometry


def geometry_model(
    model_name: str,
    settings: Mapping[str, Any],
    clean: str,
    outputs: Mapping[str, str],
    corrupted: Sequence[str] | None = None,
) -> None:
    """Features, corruption and pruning robustness of one model.

    ``corrupted`` holds the latents of ``settings["corruptions"]``, in that order, when
    extract jobs made them. Without it they are extracted here, in this process, to a
    scratch folder: robustness needs only the classifier's input under each corruption,
    and on small data one job instead of one per (model, corruption, severity) saves the
    start-up of dozens of jobs. Per-sample seeds make both ways give the same numbers.
    """
    import tempfile

    from kstarlab.extract import extract as run_extract
    from kstarlab.geometry.analysis import analyse_model
    from kstarlab.perturb import parse_transform

    model = load_model_entry(model_name, settings["model"], settings["seed"])
    data = load_images(settings["dataset"])
    images = data.dataset.images if hasattr(data.dataset, "images") else None
    if images is None:
        import torch

        images = torch.stack([data.dataset[i][0] for i in range(len(data))])
    with tempfile.TemporaryDirectory(prefix=f"kstarlab-geometry-{model_name}-") as scratch:
        paths = {}
        if corrupted is not None:
            paths = dict(zip(settings["corruptions"], corrupted, strict=True))
        for transform in (t for t in settings["corruptions"] if t not in paths):
            path = Path(scratch) / f"{transform}.h5"
            result = run_extract(
                model,
                data,
                [settings["layer"]],
                path,
                transform=parse_transform(transform, seed=settings["seed"]),
                batch_size=settings["batch_size"],
                compression="none",
                seed=settings["seed"],
            )
            log.info("%s under %s: accuracy %.4f", model_name, transform, result.accuracy)
            paths[transform] = path
        analyse_model(
            model,
            images,
            clean,
            paths,
            settings["layer"],
            settings["sparsities"],
            outputs["features"],
            outputs["samples"],
            outputs["pruning"],
            batch_size=settings["batch_size"],
        )


def geometry_summary(
    models: Sequence[str],
    samples: Sequence[str],
    pruning: Sequence[str],
    features: Sequence[str],
    outputs: Mapping[str, str],
    seed: int = 0,
) -> None:
    """Correlation tables, embeddings and figures across the models."""
    from kstarlab.geometry.analysis import summarise_models

    summarise_models(models, samples, pruning, features, outputs, seed=seed)
