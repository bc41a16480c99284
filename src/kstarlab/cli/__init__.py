"""The ``kstarlab`` command line: `kstarlab.cli.app` parses the arguments, and one module
per subcommand (``kstar``, ``demo``, ``train``, ``layers``, ``extract``, ``perturb``,
``geometry``, ``data``) registers its options and calls one library function.

``kstarlab.cli.app`` (the console script's entry point) is imported on first use (PEP 562),
so importing a command's module does not import every other command.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {"main": "kstarlab.cli.app", "build_parser": "kstarlab.cli.app"}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kstarlab.cli' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
