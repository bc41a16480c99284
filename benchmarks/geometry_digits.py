"""The geometry study on the digits zoo, end to end, without Snakemake.

For every zoo architecture (standard regime) on the digits test split (540 images):

1. train it with `kstarlab.models.training` (the settings of ``kstarlab train --arch ARCH``, minus
   the PGD robust-accuracy evaluation), or reuse ``WORK/<arch>.pt`` when it exists;
2. extract the classifier's input (``geometry.layer``, ``avgpool``) clean and under every
   ``corrupt-<name>-<severity>`` of the config's ``geometry:`` section, with
   `kstarlab.latents.extraction`;
3. per model, `kstarlab.geometry.analysis.analyse_model`: angle, length and margin,
   corruption robustness and pruning robustness over ``geometry.sparsities``;
4. across models, `summarise_models`: ``correlations.csv`` (model, robustness, feature,
   pearson_r, pearson_p, spearman_r, n), ``poster_tables.md`` (the poster's layout) and the
   figures, PNG and PDF, under ``OUT/figures``.

The corruptions, severities and sparsities default to the ``geometry:`` section of
``--config`` (config/config.yaml); ``--corruptions``, ``--severities`` and
``--sparsities`` override them (e.g. a shorter list for a quick look).

Cost on 2 busy cores: about 22 min the first time, nearly all of it training (ResNet 7 min,
ViT 10 min, MLP 1 min); 3 min once ``WORK`` holds the checkpoints (extraction of the 17
latents files, pruning at 9 sparsities, UMAP's numba compilation ~1 min). The same inputs
give byte-identical tables and figures.

Usage::

    .venv/bin/python benchmarks/geometry_digits.py        # the zoo, the config's geometry set
    .venv/bin/python benchmarks/geometry_digits.py --archs mlp --corruptions contrast,frost \
        --severities 2 --sparsities 0.2,0.5,0.8 --epochs 2 --out /tmp/geo   # ~2 min
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import torch
import yaml

from kstarlab import paths
from kstarlab.geometry.analysis import analyse_model, summarise_models
from kstarlab.latents.datasets import load_digits
from kstarlab.latents.extraction import extract
from kstarlab.models.registry import ModelEntry, load_model
from kstarlab.models.training import TrainConfig, save_trained, train_zoo
from kstarlab.workflow.plan import corruption_transforms

ARCHS = ("resnet", "vit", "mlp")


def _list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="config/config.yaml", help="its geometry: section")
    parser.add_argument(
        "--out", default=f"{paths.RESULTS}/geometry-digits", help="tables and figures"
    )
    parser.add_argument("--work", help="checkpoints and latents (default OUT/work)")
    parser.add_argument("--archs", type=_list, default=list(ARCHS), help="resnet,vit,mlp")
    parser.add_argument("--corruptions", type=_list, help="override geometry.corruptions")
    parser.add_argument("--severities", type=_list, help="override geometry.severities")
    parser.add_argument("--sparsities", type=_list, help="override geometry.sparsities")
    parser.add_argument("--epochs", type=int, help="training epochs (default: per arch)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (2)")
    return parser.parse_args(argv)


def geometry_settings(args: argparse.Namespace) -> dict:
    with open(args.config) as fh:
        geo = dict((yaml.safe_load(fh) or {}).get("geometry") or {})
    for key in ("corruptions", "severities", "sparsities"):
        if getattr(args, key) is not None:
            geo[key] = getattr(args, key)
    geo.setdefault("layer", "avgpool")
    geo.setdefault("sparsities", [round(0.1 * i, 1) for i in range(1, 10)])
    geo["sparsities"] = [float(s) for s in geo["sparsities"]]
    geo["transforms"] = corruption_transforms(geo)
    return geo


def checkpoint(arch: str, work: Path, args: argparse.Namespace) -> tuple[Path, str]:
    path = work / f"{arch}.pt"
    if path.is_file():
        return path, "reused"
    config = TrainConfig(
        arch=arch, epochs=args.epochs, seed=args.seed, eval_pgd_steps=0, threads=args.threads
    )
    result = train_zoo(config)
    save_trained(result, path)
    m = result.metadata
    return path, f"trained {m['epochs']} epochs in {m['train_seconds']:.0f} s"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    work = Path(args.work) if args.work else out / "work"
    work.mkdir(parents=True, exist_ok=True)
    geo = geometry_settings(args)
    data = load_digits("test", seed=0)
    images = data.dataset.images
    print(
        f"digits test split: {len(data)} images; {len(geo['transforms'])} corrupted benchmarks "
        f"({', '.join(geo['corruptions'])} × severities {geo['severities']}); "
        f"sparsities {geo['sparsities']}"
    )
    start = time.perf_counter()
    per_model: dict[str, dict[str, Path]] = {}
    for arch in args.archs:
        t0 = time.perf_counter()
        path, how = checkpoint(arch, work, args)
        model = load_model(ModelEntry(name=arch, arch=arch, weights=str(path)), seed=args.seed)
        latents = work / "latents" / arch
        files = {}
        for transform in ["clean", *geo["transforms"]]:
            files[transform] = latents / f"{transform}.h5"
            result = extract(
                model,
                data,
                [geo["layer"]],
                files[transform],
                transform=transform,
                batch_size=256,
                seed=args.seed,
            )
            if transform == "clean":
                clean_accuracy = result.accuracy
        # the workflow's layout (kstarlab.paths) under OUT instead of results/geometry
        per_model[arch] = {
            kind: Path(paths.geometry_model(arch, kind, folder=str(out)))
            for kind in paths.GEOMETRY_MODEL_FILES
        }
        analyse_model(
            model,
            images,
            files.pop("clean"),
            files,
            geo["layer"],
            geo["sparsities"],
            per_model[arch]["features"],
            per_model[arch]["samples"],
            per_model[arch]["pruning"],
        )
        print(
            f"{arch}: {how}; clean accuracy {clean_accuracy:.4f}; "
            f"{time.perf_counter() - t0:.0f} s with extraction and analysis"
        )
    outputs = paths.geometry_summary(folder=str(out))
    summary = summarise_models(
        list(per_model),
        [str(p["samples"]) for p in per_model.values()],
        [str(p["pruning"]) for p in per_model.values()],
        [str(p["features"]) for p in per_model.values()],
        outputs,
        class_names=data.class_names,
        seed=args.seed,
    )
    table = summary["correlations"]
    wide = table.pivot_table(
        index=["robustness", "model"], columns="feature", values="pearson_r", sort=False
    )
    with pd.option_context("display.float_format", "{:+.2f}".format):
        print("\nPearson r of each feature with robustness")
        print(wide[["angle", "length", "margin"]].to_string())
    print(f"\n{time.perf_counter() - start:.0f} s in all; written under {out}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
