"""CLI subcommands. Each module defines ``register(subparsers, parent)``.

``parent`` carries the common options (``--debug``, ``--progress``); pass it as
``parents=[parent]`` so they work after the subcommand name too.
"""

from kstarlab.commands import data, demo, extract, geometry, kstar, layers, perturb, train

COMMANDS = [kstar, demo, train, layers, extract, perturb, geometry, data]
