"""``kstarlab kstar``: k* values and the per-class table of one latent space."""

from __future__ import annotations

import argparse

from kstarlab.cli.options import add_bootstrap_options, add_metric_options, print_report


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
    cmd.add_argument(
        "--per-sample",
        metavar="OUT.csv",
        help="write every sample's k* value and nearest other-class sample here",
    )
    cmd.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kstarlab.kstar.files import kstar_file

    tables = kstar_file(
        args.input,
        args.layer,
        metric=args.metric,
        p=args.p,
        dtype=args.dtype,
        block_size=args.block_size,
        device=args.device,
        progress=args.progress,
        resamples=args.resamples,
        seed=args.seed,
        out_samples=args.per_sample,
        out_classes=args.out,
    )
    where = f"{args.input}" + (f" [{tables.layer}]" if tables.layer else "")
    print_report(tables.summary, f"k* distribution of {where} ({args.metric}, {args.dtype})")
    return 0
