"""Fixtures for the public API's tests: the bare Pyodide page (tests/browser/pyodide.py)."""

from __future__ import annotations

import pytest

from tests.browser.pyodide import PyodidePage, shared_pyodide_page


@pytest.fixture(scope="session")
def pyodide_page(browser, static_server) -> PyodidePage:
    return shared_pyodide_page(browser, static_server)
