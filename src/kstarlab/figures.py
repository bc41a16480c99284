"""Figure output shared by every plot: headless backend, atomic and byte-reproducible files."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kstarlab.extras import require
from kstarlab.io import atomic_path

# No backend is forced here (that would break notebooks): matplotlib falls back to Agg
# without a display, and workflow jobs set MPLBACKEND=Agg.
plt = require("matplotlib.pyplot")

# No timestamps or versions in the files, so the same data gives the same bytes.
_METADATA = {
    ".png": {"Software": None},
    ".pdf": {"Creator": None, "Producer": None, "CreationDate": None},
    ".svg": {"Date": None, "Creator": None},
}


def save_figure(
    fig: Any, path: str | os.PathLike[str], formats: Sequence[str] = (".png", ".pdf")
) -> list[Path]:
    """Save ``fig`` as ``path`` with each suffix in ``formats``, atomically; close it."""
    path = Path(path)
    # Only a known image suffix is replaced: "noise-0.1" keeps its dot.
    base = path.with_suffix("") if path.suffix.lower() in _METADATA else path
    written = []
    plt.rcParams["svg.hashsalt"] = "kstarlab"
    try:
        for suffix in formats:
            target = base.with_name(base.name + suffix)
            with atomic_path(target) as tmp:
                fig.savefig(
                    tmp,
                    format=suffix.lstrip("."),
                    dpi=150,
                    bbox_inches="tight",
                    metadata=_METADATA.get(suffix),
                )
            written.append(target)
    finally:
        plt.close(fig)
    return written
