"""``kstarlab demo``: the k* analysis of scikit-learn's digits in pixel space."""

from __future__ import annotations

import argparse

from kstarlab.cli.options import add_bootstrap_options, add_metric_options, print_report
from kstarlab.kstar.engine import kstar_values
from kstarlab.kstar.summary import kstar_summary


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    cmd = sub.add_parser(
        "demo",
        parents=[parent],
        help="k* of scikit-learn's digits in pixel space (no model, no download)",
        description="Compute the k* distribution of the 1,797 digits images in pixel space.",
    )
    add_metric_options(cmd)
    add_bootstrap_options(cmd)
    cmd.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sklearn.datasets import load_digits

    digits = load_digits()
    k = kstar_values(
        digits.data,
        digits.target,
        metric=args.metric,
        p=args.p,
        dtype=args.dtype,
        block_size=args.block_size,
        device=args.device,
        progress=args.progress,
    )
    names = [str(n) for n in digits.target_names]
    summary = kstar_summary(
        k, digits.target, class_names=names, resamples=args.resamples, seed=args.seed
    )
    print_report(summary, f"k* distribution of scikit-learn digits, pixel space ({args.metric})")
    return 0
