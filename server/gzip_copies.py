"""gzip-encoded copies of the files the server sends compressed, made once per file version.

A copy is kept for as long as its file is unchanged, for every file served (a bounded
set: the vendor packages' and the page's own files), never evicted: a cache that dropped
Pyodide's 9.6 MB wasm made the next first-time visitor wait for it to be compressed again
(~0.6 s), on the event loop, in front of every other request.
"""

from __future__ import annotations

import gzip
import os
import threading
from pathlib import Path

# Where a copy is made on the request path, small files cost little; the big ones are
# made ahead, at server start (compress_ahead).
COMPRESS_LEVEL = 6


class GzipCopies:
    """Path -> (size, mtime_ns, gzip bytes): one copy per path, replaced when its file changes."""

    def __init__(self) -> None:
        self._copies: dict[str, tuple[int, int, bytes]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, path: Path, stat_result: os.stat_result) -> bytes:
        """The file's gzip copy; made now (once, whatever the number of threads asking)."""
        key = str(path)
        version = (stat_result.st_size, stat_result.st_mtime_ns)
        kept = self._copies.get(key)
        if kept and kept[:2] == version:
            return kept[2]
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # a second caller waits for the first one's copy instead of making its own
            kept = self._copies.get(key)
            if kept and kept[:2] == version:
                return kept[2]
            body = gzip.compress(path.read_bytes(), compresslevel=COMPRESS_LEVEL, mtime=0)
            self._copies[key] = (*version, body)
            return body

    def compress_ahead(self, paths: list[Path]) -> threading.Thread:
        """Make the copies of `paths` in a background thread (started; returned)."""
        def run() -> None:
            for path in paths:
                try:
                    self.get(path, path.stat())
                except OSError:
                    pass  # served as 404 / plain later, where it matters
        thread = threading.Thread(target=run, daemon=True, name="gzip-ahead")
        thread.start()
        return thread


GZIP_COPIES = GzipCopies()
