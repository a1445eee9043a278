"""One loaded Pyodide per test session, with the runtime wheel installed, and a helper to
run Python in it with float32 arrays moved in bulk (base64), never as JSON lists.

    def test_x(pyodide_page):
        out = pyodide_page.run("INPUTS['x'][:3]", x=np.arange(5, dtype=np.float32))
        # out is a numpy float32 array; dicts/lists come back with arrays decoded

In the page, Python sees `INPUTS` (name -> array('f')) and the session globals `GL` (the
JS WebGL2 context) and `CTX` (a `webgl_backend.context.GLContext` on it). A call's
last expression is its result: array('f') and float32 memoryviews return as numpy
arrays; dicts, lists, numbers and strings as themselves.

The fixture is registered from conftests of several folders (tests/browser, tests/ops);
`shared_pyodide_page` keeps one instance for the whole session whichever asks first.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import numpy as np

from webgl_backend.wheel import build_runtime_wheel

REPO_ROOT = Path(__file__).resolve().parents[2]
PAGE_PATH = "tests/browser/pyodide_page.html"
# Under build/ (git-ignored) so the static server can hand it to the page.
WHEEL_DIR = REPO_ROOT / "build" / "test_wheels"
LOAD_TIMEOUT_MS = 120_000


class PyodideError(AssertionError):
    """Python code run in the page raised; the message holds its traceback and console."""


class PyodidePage:
    """A Playwright page with Pyodide, the runtime wheel and a WebGL2 context loaded."""

    def __init__(self, browser, static_server) -> None:
        started = time.perf_counter()
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"[{m.type}] {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"[pageerror] {e}"))
        self.page.set_default_timeout(LOAD_TIMEOUT_MS)
        self.page.goto(f"{static_server.url}/{PAGE_PATH}")
        self.pyodide_load_ms = self.page.evaluate("() => window.shadernetReady")
        wheel = build_runtime_wheel(WHEEL_DIR)
        self.wheel_url = f"{static_server.url}/{wheel.relative_to(REPO_ROOT).as_posix()}"
        self.page.evaluate("(url) => window.installWheel(url)", self.wheel_url)
        self.run(
            "import webgl_backend\n"
            "from webgl_backend.context import GLContext, create_webgl2_context\n"
            "GL = create_webgl2_context()\n"
            "CTX = GLContext(GL)\n"
        )
        self.setup_seconds = time.perf_counter() - started

    def run(self, code: str, **inputs: np.ndarray):
        """Run `code` in Pyodide with `inputs` as INPUTS[name] (array('f')); return its value."""
        encoded = {
            name: base64.b64encode(np.ascontiguousarray(value, dtype=np.float32).tobytes())
            .decode("ascii")
            for name, value in inputs.items()
        }
        mark = len(self.console)
        try:
            text = self.page.evaluate("([code, inputs]) => window.runPython(code, inputs)",
                                      [code, encoded])
        except Exception as error:  # playwright.Error carries the Python traceback
            console = "\n".join(self.console[mark:][-50:])
            raise PyodideError(f"{error}\n--- browser console ---\n{console}") from None
        return _decode(json.loads(text))

    def close(self) -> None:
        self.context.close()


def _decode(value):
    if isinstance(value, dict):
        if set(value) == {"__f32__"}:
            return np.frombuffer(base64.b64decode(value["__f32__"]), dtype=np.float32).copy()
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


_SESSION: dict[int, PyodidePage] = {}


def shared_pyodide_page(browser, static_server) -> PyodidePage:
    """The session's PyodidePage for this browser, created on first use."""
    key = id(browser)
    page = _SESSION.get(key)
    if page is None:
        page = PyodidePage(browser, static_server)
        _SESSION[key] = page
    return page
