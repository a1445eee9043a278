"""The reader's Pyodide check uses the session's shared Pyodide page (tests/browser/pyodide.py)."""

from __future__ import annotations

import pytest

from tests.browser.pyodide import PyodidePage, shared_pyodide_page


@pytest.fixture(scope="session")
def pyodide_page(browser, static_server) -> PyodidePage:
    """Pyodide loaded once, runtime wheel (with webgl_backend.model_format) installed."""
    return shared_pyodide_page(browser, static_server)
