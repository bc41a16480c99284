"""``kstarlab geometry``: geometric features, robustness and correlations of one model.

torch-heavy modules are imported inside `run`, so other subcommands start fast.
"""

from __future__ import annotations

import argparse

from kstarlab.cli.options import (
    add_model_options,
    comma_list,
    format_table,
    model_from_args,
)
from kstarlab.errors import InputError
from kstarlab.latents.digits import SPLITS


def _sparsities(text: str) -> list[float]:
    try:
        values = [float(v) for v in comma_list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("give at least one sparsity")
    return values


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    cmd = sub.add_parser(
        "geometry",
        parents=[parent],
        help="angle, length and margin of a model's features; robustness correlations",
        description="Per-sample geometric features of MODEL's penultimate layer (from an "
        "extracted latents file), robustness to the given corrupted extractions and to "
        "global magnitude pruning, and their Pearson/Spearman correlations.",
    )
    cmd.add_argument("--model", required=True, help="zoo or torchvision arch, or kstarlab .pt")
    add_model_options(cmd)
    cmd.add_argument("--latents", required=True, metavar="CLEAN.h5", help="clean extraction")
    cmd.add_argument("--layer", default="avgpool", help="the classifier's input (avgpool)")
    cmd.add_argument(
        "--corrupted",
        nargs="*",
        default=[],
        metavar="C.h5",
        help="extractions under corrupt-* transforms (at least one)",
    )
    cmd.add_argument(
        "--sparsities",
        type=_sparsities,
        default=[0.1 * i for i in range(1, 10)],
        help="comma-separated pruning levels (0.1,...,0.9)",
    )
    cmd.add_argument("--dataset", default="digits", help="the images of --latents: digits")
    cmd.add_argument("--split", default="test", choices=SPLITS)
    cmd.add_argument("--split-seed", type=int, default=0)
    cmd.add_argument("--out-dir", required=True, help="folder for features.h5, samples.csv, ...")
    cmd.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kstarlab.geometry.extractions import analyse_extractions

    if not args.corrupted:
        raise InputError("give at least one corrupted extraction with --corrupted")
    if args.dataset != "digits":
        raise InputError("kstarlab geometry re-runs pruned models on digits only; use the workflow")
    model = model_from_args(args)
    result = analyse_extractions(
        model,
        args.latents,
        args.corrupted,
        args.out_dir,
        layer=args.layer,
        sparsities=args.sparsities,
        split=args.split,
        split_seed=args.split_seed,
    )
    print(f"Correlation of geometric features with robustness ({model.name}, n={result.n})")
    print(format_table(result.correlations))
    print(f"\nwritten: {', '.join(str(p) for p in result.outputs.values())}")
    return 0
