"""Parity tests run in the session's shared Pyodide page (tests/browser/pyodide.py)."""

from __future__ import annotations

import pytest

from tests.browser.pyodide import PyodidePage, shared_pyodide_page


@pytest.fixture(scope="session")
def pyodide_page(browser, static_server) -> PyodidePage:
    """Pyodide loaded once, runtime wheel installed, `GL`/`CTX` ready (see pyodide.py)."""
    return shared_pyodide_page(browser, static_server)


@pytest.fixture(autouse=True)
def no_leaked_gl_objects(request):
    """After each test that used the page: drop the shared Runtime's model, then every
    texture and framebuffer created on the session context must be gone."""
    yield
    if "pyodide_page" not in request.fixturenames:
        return
    page = request.getfixturevalue("pyodide_page")
    counts = page.run(
        "if 'RUNTIME' in globals():\n"
        "    RUNTIME.dispose()\n"
        "{'textures': CTX.live_textures, 'framebuffers': CTX.live_framebuffers}"
    )
    assert counts == {"textures": 0, "framebuffers": 0}, (
        f"{request.node.nodeid} left GL objects alive on the shared context: {counts}"
    )
