"""A tiny threaded HTTP server over the repository root, for browser tests.

It serves `node_modules/` (Pyodide, TF.js), `models/`, `static/` and anything a test
writes under the repo, with the MIME types browsers insist on (`application/wasm`,
`text/javascript` for `.mjs`). Tests that need the real FastAPI app use that instead;
this one exists so kernel and format tests (and bench/browser.py's bench page) do not
depend on the server package.
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

MIME_TYPES = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".json": "application/json",
    ".bin": "application/octet-stream",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".py": "text/plain",
}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass

    def end_headers(self) -> None:
        # Cross-origin isolation is not needed; caching is off so tests see fresh files.
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


class StaticServer:
    """Serve `root` on 127.0.0.1 at an ephemeral port until `close()`."""

    def __init__(self, root: Path) -> None:
        handler = functools.partial(_QuietHandler, directory=str(root))
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
