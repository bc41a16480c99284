"""The explorer page: the payload of `collect_explorer` in one self-contained HTML file.

Everything is inline: Plotly's bundled JavaScript (the Python package's copy, so no CDN),
the page's style and script (``assets/``), and the data as JSON. The file opens from disk
(``file://``) with no server and no network request.

In the embedded JSON, every list of at least `PACK_MIN` numbers is packed (`pack`) where
that is shorter: the base64 of its little-endian binary, in the smallest type that holds
every value exactly (an integer type; for floats, float64, float32 or an integer type; null
as NaN), about 40% shorter than the JSON text of float64 values and integer labels; the
page's script and `read_page_data` unpack them into the payload's lists.
"""

from __future__ import annotations

import base64
import json
import math
import os
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from kstarlab.errors import InputError
from kstarlab.explorer.data import MAX_POINTS, collect_explorer
from kstarlab.io import atomic_write

TITLE = "kstarlab explorer"
#: The page's element that carries the data (tests and tools read it back).
DATA_ID = "explorer-data"


#: Lists of at least this many numbers are embedded packed (see the module).
PACK_MIN = 32
#: The key of a packed list: {PACKED: dtype code, "data": base64}.
PACKED = "$packed"
_INTS = ("u1", "i1", "u2", "i2", "u4", "i4")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _int_code(lo: float, hi: float) -> str | None:
    """The smallest integer type holding ``lo`` .. ``hi``."""
    for code in _INTS:
        bounds = np.iinfo(np.dtype(code))
        if bounds.min <= lo and hi <= bounds.max:
            return code
    return None


def _pack_numbers(values: list[Any]) -> dict[str, str] | None:
    """``values`` packed, or None where they stay JSON: not all integers nor all floats
    (and nulls), or no shorter packed. Floats are float64, float32 where every value is
    exactly one, an integer type (code ``f`` + its code) where every value is an integer."""
    if all(_is_int(v) for v in values):
        code = _int_code(min(values), max(values))
        if code is None:
            return None
        arr = np.asarray(values, dtype="<" + code)
    elif all(v is None or (isinstance(v, float) and math.isfinite(v)) for v in values):
        arr = np.array([math.nan if v is None else v for v in values], dtype=np.float64)
        whole = None
        if not np.isnan(arr).any() and np.array_equal(arr, np.round(arr)):
            whole = _int_code(arr.min(), arr.max())
        with np.errstate(over="ignore"):
            single = np.array_equal(arr.astype(np.float32), arr, equal_nan=True)
        if whole is not None:
            code, arr = "f" + whole, arr.astype("<" + whole)
        elif single:
            code, arr = "f4", arr.astype("<f4")
        else:
            code, arr = "f8", arr.astype("<f8")
    else:
        return None
    packed = {PACKED: code, "data": base64.b64encode(arr.tobytes()).decode("ascii")}
    text = json.dumps(values, separators=(",", ":"), allow_nan=False)
    return packed if len(packed["data"]) + 24 < len(text) else None


def pack(value: Any) -> Any:
    """``value`` (a payload) with every list of `PACK_MIN` or more numbers packed."""
    if isinstance(value, Mapping):
        return {key: pack(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        packed = _pack_numbers(list(value)) if len(value) >= PACK_MIN else None
        return packed if packed is not None else [pack(item) for item in value]
    return value


def unpack(value: Any) -> Any:
    """The payload of `pack`'s result: each packed list back as a list (NaN as None)."""
    if isinstance(value, dict):
        if PACKED in value:
            code = value[PACKED]
            floats = code.startswith("f")
            if floats and code not in ("f4", "f8"):
                code = code[1:]  # whole floats stored as integers
            arr = np.frombuffer(base64.b64decode(value["data"]), dtype="<" + code)
            if floats:
                return [None if math.isnan(v) else v for v in arr.astype(np.float64).tolist()]
            return arr.tolist()
        return {key: unpack(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unpack(item) for item in value]
    return value


def _asset(name: str) -> str:
    return (resources.files("kstarlab.explorer") / "assets" / name).read_text(encoding="utf-8")


def _inline_script(text: str) -> str:
    """Script text that cannot close its <script> element early."""
    return text.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")


def render_page(payload: Mapping[str, Any], title: str = TITLE) -> str:
    """The HTML text of the page showing ``payload`` (`collect_explorer`)."""
    from kstarlab.extras import require

    plotly_offline = require("plotly.offline")
    data = json.dumps(pack(payload), separators=(",", ":"), allow_nan=False, sort_keys=False)
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
    return unpack(json.loads(text[start:end].replace("<\\/", "</")))


def write_explorer(
    results: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    studies: Mapping[str, Mapping[str, Any]] | None = None,
    pruning: Mapping[str, Sequence[str | os.PathLike[str]]] | None = None,
    geometry: Sequence[str] | None = None,
    limit: int = MAX_POINTS,
    seed: int = 0,
    title: str = TITLE,
) -> dict[str, Any]:
    """Write the explorer page of the results folder ``results`` to ``out`` (atomically);
    returns the embedded payload. ``studies``, ``pruning``, ``geometry``, ``limit``,
    ``seed``: `collect_explorer`."""
    payload = collect_explorer(
        results, studies=studies, pruning=pruning, geometry=geometry, limit=limit, seed=seed
    )
    if not payload["pruning"] and not payload["kstar"]["cells"]:
        raise InputError(
            f"{results}: no pruning study (pruning/<study>/analysis/) and no k* summary "
            "(kstar/summary.csv): nothing to explore"
        )
    html = render_page(payload, title)
    with atomic_write(out, "w", encoding="utf-8") as handle:
        handle.write(html)
    return payload
