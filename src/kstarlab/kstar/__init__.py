"""k* (Kotyan et al.): the engine, its row sources, the per-class summary statistics and
patterns, the study tables and figures, the k* files, and k* of embeddings of other domains.

- `engine`: `kstar_values`, exact k* of every sample (streamed tiles, any metric);
- `rows`: the row sources the engine streams (in-memory arrays, HDF5 datasets);
- `summary`: per-class mean, std, skew (with its bootstrap interval) and the pattern;
- `files`: the one writer of a k* CSV (the command line and the workflow);
- `tables`, `layer_table`: the paper's tables from summaries;
- `plots`: distributions, projections and trends;
- `embeddings`, `embedding_demo`: Table XXI's embedding files of other domains.

The public names are imported on first use (PEP 562): a job that writes a table does not
import the engine's torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kstarlab.kstar.engine import kstar_values
    from kstarlab.kstar.summary import kstar_summary, pattern_averages

_LAZY = {
    "kstar_values": "kstarlab.kstar.engine",
    "kstar_summary": "kstarlab.kstar.summary",
    "pattern_averages": "kstarlab.kstar.summary",
}

__all__ = ["kstar_summary", "kstar_values", "pattern_averages"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kstarlab.kstar' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
