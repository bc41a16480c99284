"""The explorer page: the payload of `collect_explorer` in one self-contained HTML file.

Everything is inline: Plotly's bundled JavaScript (the Python package's copy, so no CDN),
the page's style and script (``assets/``), and the data as JSON. The file opens from disk
(``file://``) with no server and no network request.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from kstarlab.errors import InputError
from kstarlab.explorer.data import MAX_POINTS, collect_explorer
from kstarlab.io import atomic_write

TITLE = "kstarlab explorer"
#: The page's element that carries the data (tests and tools read it back).
DATA_ID = "explorer-data"


def _asset(name: str) -> str:
    return (resources.files("kstarlab.explorer") / "assets" / name).read_text(encoding="utf-8")


def _inline_script(text: str) -> str:
    """Script text that cannot close its <script> element early."""
    return text.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")


def render_page(payload: Mapping[str, Any], title: str = TITLE) -> str:
    """The HTML text of the page showing ``payload`` (`collect_explorer`)."""
    from kstarlab.extras import require

    plotly_offline = require("plotly.offline")
    data = json.dumps(payload, separators=(",", ":"), allow_nan=False, sort_keys=False)
    parts = {
        "__CSS__": _asset("explorer.css"),
        "__PLOTLY__": _inline_script(plotly_offline.get_plotlyjs()),
        "__DATA__": data.replace("</", "<\\/"),
        "__APP__": _inline_script(_asset("explorer.js")),
        "__TITLE__": title.replace("&", "&amp;").replace("<", "&lt;"),
    }
    html = _asset("explorer.html")
    # One pass, in template order, so no replacement is ever searched for placeholders.
    out, rest = [], html
    while True:
        hits = [(rest.find(key), key) for key in parts if rest.find(key) >= 0]
        if not hits:
            out.append(rest)
            break
        at, key = min(hits)
        out.append(rest[:at])
        out.append(parts[key])
        rest = rest[at + len(key) :]
    return "".join(out)


def read_page_data(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The payload embedded in an explorer page (for tests and tools)."""
    text = Path(path).read_text(encoding="utf-8")
    start_tag = f'<script type="application/json" id="{DATA_ID}">'
    start = text.find(start_tag)
    if start < 0:
        raise InputError(f"{path}: not an explorer page (no #{DATA_ID} element)")
    start += len(start_tag)
    end = text.find("</script>", start)
    return json.loads(text[start:end].replace("<\\/", "</"))


def write_explorer(
    results: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    studies: Mapping[str, Mapping[str, Any]] | None = None,
    pruning: Mapping[str, Sequence[str | os.PathLike[str]]] | None = None,
    limit: int = MAX_POINTS,
    seed: int = 0,
    title: str = TITLE,
) -> dict[str, Any]:
    """Write the explorer page of the results folder ``results`` to ``out`` (atomically);
    returns the embedded payload. ``studies``, ``pruning``, ``limit``, ``seed``:
    `collect_explorer`."""
    payload = collect_explorer(results, studies=studies, pruning=pruning, limit=limit, seed=seed)
    if not payload["pruning"] and not payload["kstar"]["cells"]:
        raise InputError(
            f"{results}: no pruning study (pruning/<study>/analysis/) and no k* summary "
            "(kstar/summary.csv): nothing to explore"
        )
    html = render_page(payload, title)
    with atomic_write(out, "w", encoding="utf-8") as handle:
        handle.write(html)
    return payload
