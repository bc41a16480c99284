"""The ``kstarlab`` command line: each subcommand module defines ``register(subparsers, parent)``.

``parent`` carries the common options (``--debug``, ``--progress``); a subcommand passes it
as ``parents=[parent]`` so they work after the subcommand name too.

Bad input ends with one line ``error: ...`` on stderr and exit status 2; ``--debug`` shows
the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from kstarlab import __version__
from kstarlab.cli import data, demo, explore, extract, geometry, kstar, layers, perturb, train
from kstarlab.errors import InputError

EXIT_BAD_INPUT = 2
COMMANDS = [kstar, demo, train, layers, extract, perturb, geometry, data, explore]


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"error: {self.prog}: {message}\n")


def common_options() -> argparse.ArgumentParser:
    """Options accepted both before and after the subcommand name."""
    parent = OneLineParser(add_help=False)
    parent.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the full traceback on error",
    )
    parent.add_argument(
        "--progress",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show progress bars even when stderr is not a terminal",
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    parent = common_options()
    parser = OneLineParser(
        prog="kstarlab",
        description="Latent-space analysis of neural networks: k* distributions and geometry.",
        parents=[parent],
    )
    parser.add_argument("--version", action="version", version=f"kstarlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.register(sub, parent)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kstarlab`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    debug = getattr(args, "debug", False)
    args.debug = debug
    args.progress = getattr(args, "progress", False) or sys.stderr.isatty()
    try:
        return int(args.func(args) or 0)
    except (InputError, ValueError, OSError, KeyError) as exc:
        if debug:
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        if debug:
            raise
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
