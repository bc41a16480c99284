"""``kstarlab kstar``: k* values and the per-class table of one latent space."""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np
import pandas as pd

from kstarlab.errors import InputError
from kstarlab.io import open_latents, write_csvs
from kstarlab.kstar import DTYPES, METRICS, kstar_values
from kstarlab.summary import BOOTSTRAP_RESAMPLES, kstar_summary, pattern_averages


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    cmd = sub.add_parser(
        "kstar",
        parents=[parent],
        help="k* distribution of a latent space (.npz or .h5)",
        description="Compute k* for every sample and print the per-class table.",
    )
    cmd.add_argument("input", metavar="INPUT", help=".npz with X and y, or an .h5 latents file")
    add_metric_options(cmd)
    add_bootstrap_options(cmd)
    cmd.add_argument("--layer", help="layer inside an .h5 latents file")
    cmd.add_argument("--out", metavar="OUT.csv", help="write the per-class table here")
    cmd.add_argument("--per-sample", metavar="OUT.csv", help="write every sample's k* value here")
    cmd.set_defaults(func=run)


def add_metric_options(cmd: argparse.ArgumentParser) -> None:
    """The distance and engine options shared by every k* subcommand."""
    cmd.add_argument("--metric", default="euclidean", choices=METRICS, help="distance metric")
    cmd.add_argument("--p", type=float, default=None, help="order of the minkowski metric")
    cmd.add_argument("--dtype", default="float32", choices=sorted(DTYPES))
    cmd.add_argument("--block-size", type=int, default=None, help="rows per tile (auto)")
    cmd.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")


def add_bootstrap_options(cmd: argparse.ArgumentParser) -> None:
    """The seed and size of the bootstrap interval of each class's γ."""
    cmd.add_argument(
        "--seed", type=int, default=0, help="seed of the bootstrap resamples (default 0)"
    )
    cmd.add_argument(
        "--resamples",
        type=int,
        default=BOOTSTRAP_RESAMPLES,
        help=f"bootstrap resamples for the 95%% interval of γ (default {BOOTSTRAP_RESAMPLES})",
    )


def format_table(frame: pd.DataFrame) -> str:
    """A fixed-width text table with three decimals."""
    return frame.to_string(index=False, float_format=lambda v: "—" if math.isnan(v) else f"{v:.3f}")


def print_report(summary: pd.DataFrame, title: str) -> None:
    print(title)
    print(format_table(summary))
    print()
    print("Average of classes per pattern")
    print(format_table(pattern_averages(summary)))
    sys.stdout.flush()


def run(args: argparse.Namespace) -> int:
    with open_latents(args.input, layer=args.layer) as data:
        k = kstar_values(
            data.X,
            data.y,
            metric=args.metric,
            p=args.p,
            dtype=args.dtype,
            block_size=args.block_size,
            device=args.device,
            progress=args.progress,
        )
        y = np.asarray(data.y)
        correct = None
        if data.predictions is not None:
            preds = np.asarray(data.predictions)
            if preds.shape != y.shape:
                raise InputError(
                    f"predictions in {args.input} have shape {preds.shape}, labels {y.shape}"
                )
            correct = preds == y
        summary = kstar_summary(
            k,
            y,
            class_names=data.class_names,
            accuracy=correct,
            resamples=args.resamples,
            seed=args.seed,
        )
    where = f"{args.input}" + (f" [{data.layer}]" if data.layer else "")
    print_report(summary, f"k* distribution of {where} ({args.metric}, {args.dtype})")
    outputs = {}
    if args.out:
        outputs[args.out] = (summary, {"index": False})
    if args.per_sample:
        table = pd.DataFrame({"index": np.arange(y.size), "label": y, "kstar": k})
        if correct is not None:
            table["correct"] = correct
        outputs[args.per_sample] = (table, {"index": False})
    write_csvs(outputs)  # both or neither
    return 0
