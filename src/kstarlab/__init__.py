"""kstarlab: latent-space analysis of neural networks (k* distributions, geometric features).

The public names are imported on first use (PEP 562): ``import kstarlab`` stays cheap for
the workflow, whose every Snakemake start and job script imports a submodule such as
``kstarlab.workflow.plan`` or ``kstarlab.workflow.jobs`` without needing torch or scipy.stats.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from kstarlab.errors import InputError

if TYPE_CHECKING:
    from kstarlab.kstar.engine import kstar_values
    from kstarlab.kstar.summary import kstar_summary, pattern_averages

__version__ = "0.1.0"

_LAZY = {
    "kstar_values": "kstarlab.kstar.engine",
    "kstar_summary": "kstarlab.kstar.summary",
    "pattern_averages": "kstarlab.kstar.summary",
}

__all__ = ["InputError", "__version__", "kstar_summary", "kstar_values", "pattern_averages"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kstarlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
