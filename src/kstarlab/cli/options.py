"""Options and helpers shared by the commands: the model options (``layers``, ``extract``,
``geometry``), the k* options and report (``kstar``, ``demo``), and the text table."""

from __future__ import annotations

import argparse
import contextlib
import math
import signal
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from kstarlab.models.registry import LoadedModel


def add_model_options(cmd: argparse.ArgumentParser) -> None:
    """``--config``, ``--weights``, ``--trusted`` and ``--num-classes``."""
    cmd.add_argument("--config", metavar="YAML", help="config file with a 'models:' mapping")
    cmd.add_argument(
        "--weights",
        help="checkpoint file, torchvision weights name (DEFAULT, IMAGENET1K_V2, ...) or none",
    )
    cmd.add_argument(
        "--trusted",
        action="store_true",
        help="allow a checkpoint that needs full unpickling (can run code: trusted files only)",
    )
    cmd.add_argument("--num-classes", type=int, help="number of model outputs")


def model_from_args(args: argparse.Namespace, seed: int = 0) -> LoadedModel:
    """The model named by ``args.model`` with the shared model options."""
    from kstarlab.models.registry import load_model, read_model_config

    config = read_model_config(args.config) if args.config else None
    return load_model(
        args.model,
        config=config,
        weights=args.weights,
        trusted=args.trusted,
        num_classes=args.num_classes,
        seed=seed,
    )


def add_metric_options(cmd: argparse.ArgumentParser) -> None:
    """The distance and engine options shared by every k* subcommand."""
    from kstarlab.kstar.engine import DTYPES
    from kstarlab.names import METRICS

    cmd.add_argument("--metric", default="euclidean", choices=METRICS, help="distance metric")
    cmd.add_argument("--p", type=float, default=None, help="order of the minkowski metric")
    cmd.add_argument("--dtype", default="float32", choices=sorted(DTYPES))
    cmd.add_argument("--block-size", type=int, default=None, help="rows per tile (auto)")
    cmd.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")


def add_bootstrap_options(cmd: argparse.ArgumentParser) -> None:
    """The seed and size of the bootstrap interval of each class's γ."""
    from kstarlab.kstar.summary import BOOTSTRAP_RESAMPLES

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
    """A fixed-width text table with three decimals (NaN as a dash)."""
    return frame.to_string(index=False, float_format=lambda v: "—" if math.isnan(v) else f"{v:.3f}")


def print_report(summary: pd.DataFrame, title: str) -> None:
    """A k* per-class table and its average per pattern, under ``title``."""
    from kstarlab.kstar.summary import pattern_averages

    print(title)
    print(format_table(summary))
    print()
    print("Average of classes per pattern")
    print(format_table(pattern_averages(summary)))
    sys.stdout.flush()


def positive_int(text: str) -> int:
    """argparse type: an integer ≥ 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def comma_list(text: str) -> list[str]:
    """argparse type: ``a,b,c`` → ``["a", "b", "c"]`` (empty items dropped)."""
    return [item.strip() for item in text.split(",") if item.strip()]


def set_threads(threads: int | None) -> None:
    """Fix torch's intra-op thread count when given."""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[threading.Event]:
    """Turn SIGTERM into KeyboardInterrupt, so atomic writers remove their temporary files.

    Python may run the handler inside a garbage-collection callback, where the exception is
    ignored (silently, here); the yielded event stays set, so long loops also poll it
    (``stop=event.is_set``).
    """
    event = threading.Event()

    def handler(signum: int, frame: Any) -> None:
        event.set()
        raise KeyboardInterrupt

    def unraisable(info: Any) -> None:
        if not (event.is_set() and info.exc_type is KeyboardInterrupt):
            previous_hook(info)

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield event
        return
    previous_hook, sys.unraisablehook = sys.unraisablehook, unraisable
    try:
        yield event
    finally:
        signal.signal(signal.SIGTERM, previous)
        sys.unraisablehook = previous_hook
