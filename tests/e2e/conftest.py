"""End-to-end fixtures: the real server under uvicorn, and ONE loaded drawing page.

The server runs on 127.0.0.1 at an ephemeral port in a thread, for the whole session, on
temporary folders: `models/default` (see models.py) and an empty saved-versions store.
The page is loaded once (Pyodide start-up is the slow part) and driven with
tests/support/page_driver.py; `drawing_page` puts it back to a clean state before each
test and prints the browser console when a test fails.
"""

from __future__ import annotations


import pytest

from server.settings import REPO_ROOT
from tests.e2e.models import default_model_dir
from tests.support.browser_required import browser_unavailable
from tests.support.live_server import app_serving, live_server
from tests.support.page_driver import DrawingPage


@pytest.fixture(scope="session")
def e2e_server(tmp_path_factory):
    """The app under uvicorn on 127.0.0.1:<free port>; yields (base URL, folders)."""
    if not (REPO_ROOT / "node_modules" / "pyodide" / "pyodide.asm.wasm").is_file():
        browser_unavailable("node_modules/ is missing: run `make setup` (npm install)")
    root = tmp_path_factory.mktemp("e2e")
    with live_server(app_serving(default_model_dir(), root)) as url:
        yield url, root


@pytest.fixture(scope="session")
def loaded_page(browser, e2e_server):
    """One browser context and one page, loaded to 'Ready', for the whole session."""
    url, _ = e2e_server
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    # Fewer replay images and epochs than the page default keep the teach test short.
    drawing_page = DrawingPage(page, url + "/?replay=100&epochs=2&copies=5")
    yield drawing_page
    context.close()


@pytest.fixture
def drawing_page(loaded_page, request):
    """The shared page, cleaned before the test; console printed if the test fails."""
    loaded_page.clean()
    mark = len(loaded_page.console)
    yield loaded_page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print("\n--- browser console ---\n" + "\n".join(loaded_page.console[mark:][-200:]))
        print("--- status: " + loaded_page.status())
