"""The explorer page in real headless Chromium: screenshots of its views, load times, and
the session the browser tests drive (Playwright over the system's Chromium, never a
downloaded browser: this project runs offline).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kstarlab.errors import InputError
from kstarlab.extras import require

#: The page's views, each a container with ``data-view="<name>"`` (and their order).
VIEWS = ("map", "geometry", "benchmarks", "samples", "kstar", "projections")
#: The page sets ``<body data-ready="1">`` once every view is drawn.
READY = "body[data-ready='1']"
BINARIES = ("chromium", "chromium-browser", "google-chrome")


def chromium_binary() -> str:
    """The system's Chromium (``KSTARLAB_CHROMIUM`` overrides), or a one-line error."""
    override = os.environ.get("KSTARLAB_CHROMIUM")
    if override:
        return override
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found
    raise InputError("no Chromium found (apt-get install chromium, or set KSTARLAB_CHROMIUM)")


@dataclass
class Session:
    """An open page: Playwright's ``page``, the console errors and the requests seen."""

    page: Any
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    load_seconds: float = 0.0

    def external_requests(self) -> list[str]:
        """Requests for anything but the page file itself and inline ``data:`` URIs."""
        own = self.page.url.split("#", 1)[0]
        return [r for r in self.requests if r.split("#", 1)[0] != own and not r.startswith("data:")]


@contextlib.contextmanager
def open_explorer(
    page_file: str | os.PathLike[str],
    fragment: str = "",
    *,
    viewport: tuple[int, int] = (1400, 1000),
    timeout_s: float = 60.0,
) -> Iterator[Session]:
    """Open ``page_file`` (from disk, ``file://``) with ``fragment`` (``#model=...``) in
    headless Chromium, wait until every view is drawn, and yield the `Session`."""
    sync_api = require("playwright.sync_api")
    file = Path(page_file).resolve()
    if not file.is_file():
        raise InputError(f"explorer page not found: {file}")
    with sync_api.sync_playwright() as play:
        browser = play.chromium.launch(
            executable_path=chromium_binary(), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            session = Session(page)
            page.on(
                "console",
                lambda m: session.errors.append(m.text) if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: session.errors.append(str(e)))
            page.on("request", lambda r: session.requests.append(r.url))
            start = time.perf_counter()
            page.goto(file.as_uri() + fragment)
            page.wait_for_selector(READY, state="attached", timeout=timeout_s * 1000)
            session.load_seconds = time.perf_counter() - start
            yield session
        finally:
            browser.close()


def screenshot_views(
    page_file: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    fragment: str = "",
    prefix: str = "explorer-",
    views: Sequence[str] = VIEWS,
) -> list[Path]:
    """A PNG of each view of the page (``<prefix><view>.png`` in ``out_dir``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    shots = []
    with open_explorer(page_file, fragment) as session:
        for view in views:
            path = out / f"{prefix}{view}.png"
            session.page.locator(f'[data-view="{view}"]').screenshot(path=str(path))
            shots.append(path)
    return shots
