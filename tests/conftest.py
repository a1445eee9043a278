"""Shared fixtures: one static server and one headless Chromium for the whole session.

Browser tests are marked `browser`; they are skipped (with the reason) when Chromium,
Playwright or `node_modules/` is missing, so `pytest tests/nn` works on a bare machine.
`make test` installs them and sets `SHADERNET_REQUIRE_BROWSER=1`, which turns every such
skip into a failure naming what is missing (tests/support/browser_required.py).
`CHROMIUM=/path/to/chromium` picks another browser binary.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from server.headless_chromium import CHROMIUM_ARGS
from tests.support.browser_required import browser_unavailable, fail_browser_skip
from tests.support.static_server import StaticServer

REPO_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def static_server():
    """Serve the repository root over HTTP (node_modules, models, static, test files)."""
    if not (REPO_ROOT / "node_modules").is_dir():
        browser_unavailable("node_modules/ is missing: run `make setup` (npm install)")
    server = StaticServer(REPO_ROOT)
    yield server
    server.close()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole test session."""
    if not Path(CHROMIUM).exists():
        browser_unavailable(f"Chromium not found at {CHROMIUM}: run `make browser` "
                            "(apt-get install chromium) or set CHROMIUM")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        browser_unavailable("Playwright is not installed: run `make setup`")

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    """A fresh page; its console output is attached to the report when the test fails."""
    context = browser.new_context()
    new_page = context.new_page()
    console: list[str] = []
    new_page.on("console", lambda message: console.append(f"[{message.type}] {message.text}"))
    new_page.on("pageerror", lambda error: console.append(f"[pageerror] {error}"))
    yield new_page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed and console:
        print("\n--- browser console ---\n" + "\n".join(console[-200:]))
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    fail_browser_skip(item, report)
    setattr(item, f"rep_{report.when}", report)
