"""The explorer: one self-contained, offline HTML page with linked views of a run's results.

- `data`: `collect_explorer` reads a results folder (the pruning studies' analysis files
  and embedding, the k* cells, the study projections) into one JSON-ready payload;
- `images`: sample thumbnails packed into PNG sprite sheets;
- `page`: `write_explorer` writes the payload with Plotly's bundled JavaScript and the
  page's own script inline, so the file opens from disk with no server and no network;
- `limits`: `MAX_POINTS`, the samples drawn per view before a stratified sample is drawn.

The workflow's ``explorer`` rule and ``kstarlab explore`` both call `write_explorer`; see
docs/explorer.md. The public names are imported on first use (PEP 562).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kstarlab.explorer.data import collect_explorer
    from kstarlab.explorer.limits import MAX_POINTS
    from kstarlab.explorer.page import read_page_data, write_explorer

_LAZY = {
    "MAX_POINTS": "kstarlab.explorer.limits",
    "collect_explorer": "kstarlab.explorer.data",
    "read_page_data": "kstarlab.explorer.page",
    "write_explorer": "kstarlab.explorer.page",
}

__all__ = ["MAX_POINTS", "collect_explorer", "read_page_data", "write_explorer"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kstarlab.explorer' has no attribute {name!r}")
