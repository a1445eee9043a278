"""Start-up fixtures: the real server on temporary folders, and visits that report how
the page started (restored from a memory snapshot or not) and what the browser stores.

A visit is a new page in a browser context: the context keeps IndexedDB, the service
worker and the HTTP cache between its pages, as a browser profile does between visits.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from server.settings import REPO_ROOT
from tests.e2e.digits import DIGITS, PLACES, place
from tests.e2e.models import default_model_dir
from tests.support.live_server import live_server
from tests.support.page_driver import draw

READY_TIMEOUT_MS = 120_000
STORED_TIMEOUT_S = 60
# Every stored snapshot, as the page's store module lists them (static/snapshot_store.js).
SNAPSHOT_RECORDS = "async () => (await import('/static/snapshot_store.js')).listSnapshots()"


@dataclass
class Visit:
    """One loaded page: its start-up stages (ms from navigation) and its console."""

    page: object
    stages: dict
    console: list[str]

    @property
    def restored(self) -> bool:
        return "restore" in self.stages

    def config(self) -> dict:
        return json.loads(self.page.locator("#shadernet-config").text_content())

    def snapshot_records(self) -> list[dict]:
        return self.page.evaluate(SNAPSHOT_RECORDS)

    def wait_snapshot_stored(self) -> dict:
        """Until a snapshot for this page's start-up key is stored; returns its record."""
        key = self.config()["startup_key"]
        deadline = time.monotonic() + STORED_TIMEOUT_S
        while time.monotonic() < deadline:
            found = [r for r in self.snapshot_records() if r["key"].startswith(key)]
            if found:
                return found[0]
            self.page.wait_for_timeout(250)
        raise AssertionError(f"no snapshot stored under {key} within {STORED_TIMEOUT_S} s; "
                             f"stored: {self.snapshot_records()}\n" + "\n".join(self.console[-30:]))

    def read(self, digit: int, where: str) -> tuple[str, list[str]]:
        """Draw `digit`, wait for the prediction; (predicted digit, ten probabilities as shown)."""
        page = self.page
        page.get_by_test_id("clear").click()
        draw(page, place(DIGITS[digit], *PLACES[where]))
        page.wait_for_function(
            "() => { const c = document.querySelector('[data-testid=canvas]');"
            " return c.dataset.version !== undefined && c.dataset.settled === c.dataset.version; }",
            timeout=30_000)
        probabilities = [page.get_by_test_id(f"prob-{d}").get_attribute("data-probability")
                         for d in range(10)]
        return page.get_by_test_id("prediction").text_content(), probabilities


def open_visit(context, url: str) -> Visit:
    """A new page at `url`, to "Ready" and past the shader warm-up."""
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(f"[{m.type}] {m.text}"))
    page.on("pageerror", lambda e: console.append(f"[pageerror] {e}"))
    page.set_default_timeout(30_000)
    page.goto(url)
    try:
        page.wait_for_function(
            "() => { const s = document.querySelector('[data-testid=status]').textContent;"
            " if (/^Could not/.test(s)) throw new Error(s);"
            " return s.includes('Ready') && window.shadernetStartup"
            " && window.shadernetStartup.warmup !== undefined; }", timeout=READY_TIMEOUT_MS)
    except Exception as error:
        raise AssertionError(f"{url} did not start: {error}\n--- browser console ---\n"
                             + "\n".join(console[-60:])) from None
    return Visit(page, page.evaluate("() => window.shadernetStartup"), console)


@contextlib.contextmanager
def serve(root: Path) -> Iterator[str]:
    """The app on `root`'s folders (models/default, a store, a cache) under uvicorn."""
    from server.main import create_app
    from server.settings import Settings

    settings = Settings(models_dir=root / "models", store_dir=root / "store",
                        cache_dir=root / "cache")
    with live_server(create_app(settings)) as url:
        yield url


@pytest.fixture
def site_root(tmp_path) -> Path:
    """Folders for one server: the e2e default model as models/default."""
    if not (REPO_ROOT / "node_modules" / "pyodide" / "pyodide.asm.wasm").is_file():
        pytest.fail("node_modules/ is missing: run `make setup` (npm install)")
    shutil.copytree(default_model_dir(), tmp_path / "models" / "default")
    return tmp_path


@pytest.fixture
def context(browser, request):
    """A browser context (one profile) for the test; consoles printed if it fails."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
    yield ctx
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for page in ctx.pages:
            print(f"--- page {page.url}: status "
                  f"{page.get_by_test_id('status').text_content(timeout=1000)!r}")
    ctx.close()


@pytest.fixture
def blank_page(browser, static_server):
    """A page on tests/startup/blank.html (the repository served plainly), its own context."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{static_server.url}/tests/startup/blank.html")
    yield page
    context.close()
