"""``kstarlab train``: train a zoo model on digits, deterministically."""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction

from kstarlab.cli.options import positive_int, terminate_as_interrupt


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    cmd = sub.add_parser(
        "train",
        parents=[parent],
        help="train a zoo model on the digits train split",
        description="Train a zoo model and write a checkpoint plus a JSON of metadata "
        "(architecture, regime, epochs, seed, test accuracy, time).",
    )
    cmd.add_argument("--arch", required=True, help="zoo architecture: resnet, vit or mlp")
    cmd.add_argument(
        "--regime",
        default="standard",
        help="standard, adversarial (L∞ PGD training), stylized (style-fda images only) or "
        "standard+stylized (clean and stylized images)",
    )
    cmd.add_argument(
        "--style",
        help="stylized regimes: the style-fda transform of the training images "
        "(default style-fda-random: one shipped style image drawn per sample)",
    )
    cmd.add_argument("--out", required=True, metavar="MODEL.pt", help="checkpoint path")
    cmd.add_argument("--epochs", type=positive_int, help="epochs (default per arch and regime)")
    cmd.add_argument("--seed", type=int, default=0)
    cmd.add_argument("--split-seed", type=int, default=0, help="digits train/test split seed")
    cmd.add_argument("--batch-size", type=positive_int, default=64)
    cmd.add_argument("--lr", type=float, help="peak learning rate (default per arch)")
    cmd.add_argument("--eps", type=_fraction, default=8 / 255, help="L∞ radius, e.g. 8/255")
    cmd.add_argument("--pgd-steps", type=positive_int, default=3, help="PGD steps in training")
    cmd.add_argument(
        "--eval-pgd-steps",
        type=int,
        help="PGD steps of the robust-accuracy test (0: skip; default 10 for adversarial "
        "models, else 0)",
    )
    cmd.add_argument("--threads", type=positive_int, default=1, help="torch threads (1)")
    cmd.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (cpu)")
    cmd.set_defaults(func=run)


def _fraction(text: str) -> float:
    try:
        return float(Fraction(text.strip()))
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"not a number or fraction: {text!r}") from None


def _maybe(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.4f}"


def run(args: argparse.Namespace) -> int:
    from kstarlab.models.training import TrainConfig, save_trained, train_zoo

    config = TrainConfig(
        arch=args.arch,
        regime=args.regime,
        style=args.style,
        epochs=args.epochs,
        seed=args.seed,
        split_seed=args.split_seed,
        batch_size=args.batch_size,
        lr=args.lr,
        eps=args.eps,
        pgd_steps=args.pgd_steps,
        eval_pgd_steps=args.eval_pgd_steps,
        threads=args.threads,
    ).resolved()
    with terminate_as_interrupt() as terminated:
        result = train_zoo(
            config, device=args.device, progress=args.progress, stop=terminated.is_set
        )
        checkpoint, meta = save_trained(result, args.out)
    m = result.metadata
    print(
        f"{m['arch']}/{m['regime']}: {m['epochs']} epochs, test accuracy "
        f"{m['test_accuracy']:.4f}, robust accuracy {_maybe(m['robust_accuracy'])}, "
        f"{m['train_seconds']:.1f} s → {checkpoint} + {meta.name}"
    )
    sys.stdout.flush()
    return 0
