"""``kstarlab data``: share the workflow's results through DVC (push, pull, checkout, touch).

Plain ``dvc`` works too; these add a configurable remote (``KSTARLAB_DVC_REMOTE``), one-line
errors that say what to run, and the Snakemake timestamps DVC does not keep.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    cmd = sub.add_parser(
        "data",
        parents=[parent],
        help="push, pull or check out the versioned results (DVC)",
        description="Move the results dvc.lock records to and from a DVC remote, keeping "
        "Snakemake's view of them up to date. The remote is DVC's default (.dvc/config); "
        "KSTARLAB_DVC_REMOTE=PATH-or-URL overrides its location.",
    )
    actions = cmd.add_subparsers(dest="action", metavar="ACTION", required=True)
    push = actions.add_parser(
        "push", parents=[parent], help="dvc push: send the results to the remote"
    )
    pull = actions.add_parser(
        "pull",
        parents=[parent],
        help="dvc pull, then restore Snakemake's timestamps (nothing reruns)",
    )
    for action in (push, pull):
        action.add_argument("-r", "--remote", help="DVC remote name (default: DVC's default)")
    checkout = actions.add_parser(
        "checkout",
        parents=[parent],
        help="dvc checkout (after git checkout), then restore Snakemake's timestamps",
    )
    for action in (pull, checkout):
        action.add_argument(
            "--no-touch",
            action="store_true",
            help="leave the timestamps as DVC set them (Snakemake may then rerun jobs)",
        )
    actions.add_parser(
        "touch",
        parents=[parent],
        help="after a plain dvc pull/checkout: check the outputs match dvc.lock, then "
        "snakemake --touch them",
    )
    cmd.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kstarlab.extras import require
    from kstarlab.workflow import versioning

    require("dvc")  # every action drives DVC: name the missing extra before anything else
    root = versioning.find_root()
    if args.action == "push":
        line = versioning.push(root, args.remote)
    elif args.action == "pull":
        line = versioning.pull(root, args.remote, touch_outputs=not args.no_touch)
    elif args.action == "checkout":
        line = versioning.checkout(root, touch_outputs=not args.no_touch)
    else:
        line = versioning.touch(root)
    print(line)
    return 0
