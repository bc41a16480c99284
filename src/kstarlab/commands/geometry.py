"""``kstarlab geometry``: geometric features, robustness and correlations of one model.

torch-heavy modules are imported inside `run`, so other subcommands start fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from kstarlab.commands._options import add_model_options, comma_list, model_from_args
from kstarlab.digits import SPLITS
from kstarlab.errors import InputError


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
    import h5py
    import pandas as pd

    from kstarlab.commands.kstar import format_table
    from kstarlab.geometry.analysis import analyse_model
    from kstarlab.geometry.correlations import correlation_table

    if not args.corrupted:
        raise InputError("give at least one corrupted extraction with --corrupted")
    if args.dataset != "digits":
        raise InputError("kstarlab geometry re-runs pruned models on digits only; use the workflow")
    corrupted = {}
    for path in args.corrupted:
        try:
            with h5py.File(path, "r") as h5:
                transform = str(h5.attrs.get("transform", Path(path).stem))
        except OSError as exc:
            raise InputError(f"cannot read {path}: not a valid HDF5 file ({exc})") from None
        corrupted[transform] = path
    model = model_from_args(args)
    from kstarlab.data import load_digits

    images = load_digits(split=args.split, seed=args.split_seed).dataset.images
    out = Path(args.out_dir)
    outputs = {
        k: out / f"{k}{ext}"
        for k, ext in (("features", ".h5"), ("samples", ".csv"), ("pruning", ".csv"))
    }
    analyse_model(
        model,
        images,
        args.latents,
        corrupted,
        args.layer,
        args.sparsities,
        outputs["features"],
        outputs["samples"],
        outputs["pruning"],
    )
    samples = pd.read_csv(outputs["samples"])
    table = correlation_table(
        model.name,
        samples,
        {
            "corruption": samples["corruption_robustness"],
            "pruning": samples["prune_correct_fraction"],
        },
    )
    print(f"Correlation of geometric features with robustness ({model.name}, n={len(samples)})")
    print(format_table(table))
    print(f"\nwritten: {', '.join(str(p) for p in outputs.values())}")
    return 0
