"""``kstarlab explore``: the interactive explorer page of a results folder.

The workflow's ``explorer`` rule writes ``results/explorer.html`` with the same function
(`kstarlab.explorer.write_explorer`); this command makes the page of results made elsewhere.
"""

from __future__ import annotations

import argparse
import sys

from kstarlab.explorer.limits import MAX_POINTS


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 10:
        raise argparse.ArgumentTypeError(f"must be at least 10, got {value}")
    return value


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    cmd = sub.add_parser(
        "explore",
        parents=[parent],
        help="write the interactive explorer page (one offline HTML file) of a results folder",
        description="Linked views of a results folder: the pruning studies' model map, "
        "geometry, benchmark similarity and samples, the k* cells and the projections, in one "
        "self-contained HTML file that opens from disk. k* cells are grouped by model (the "
        "workflow's own page groups them by study).",
    )
    cmd.add_argument(
        "results", metavar="RESULTS_DIR", help="a results folder (what make run writes)"
    )
    cmd.add_argument("--out", required=True, metavar="FILE", help="the HTML file to write")
    cmd.add_argument(
        "--limit",
        type=_limit,
        default=MAX_POINTS,
        help=f"samples drawn per view; beyond, a class-stratified sample ({MAX_POINTS})",
    )
    cmd.add_argument("--seed", type=int, default=0, help="seed of the stratified samples (0)")
    cmd.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kstarlab.explorer import write_explorer
    from kstarlab.explorer.data import cells_by_model

    studies = cells_by_model(args.results)
    payload = write_explorer(
        args.results, args.out, studies=studies, limit=args.limit, seed=args.seed
    )
    size = len(payload["kstar"]["cells"])
    print(
        f"wrote {args.out}: {len(payload['pruning'])} pruning studies, {size} k* cells",
        file=sys.stderr,
    )
    return 0
