"""The page's own files (static/) under a URL that names their version, cached for a year.

The drawing page loads ~35 modules (its own, its worker's). Served at /static/<path> with
`no-cache`, each visit asked the server about every one of them (35 revalidations, each
a round trip before a module's imports are even known); served at
/static/v/<version>/<path> with `immutable`, a repeat visit loads them from the HTTP
cache without asking. The modules import each other by relative URLs, so one version
segment in the page's URLs covers the whole module graph, worker included.

The version is a digest of every file's path and contents, recomputed when a file's size
or modification time changes: an edited file means new URLs on the next page load. A URL
with another version (a page loaded before a deployment) is answered with today's file,
`no-cache`, so nothing from an older version is ever kept as immutable under a newer name
or the reverse (server/assets.py: VersionedStaticFiles). /static/<path> stays as it was (`no-cache`): the public module's stable
address for other pages (static/shadernet.mjs).
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path


VERSIONED_ROOT = "/static/v"
VERSION_CHARS = 16


class StaticVersion:
    """The content version of one folder's files, kept until a file's (size, mtime) changes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._signature: tuple = ()
        self._version = ""

    def _stats(self) -> tuple:
        found = []
        for root, dirs, files in os.walk(self.directory):
            dirs.sort()
            for name in sorted(files):
                path = Path(root) / name
                stat = path.stat()
                found.append((path.relative_to(self.directory).as_posix(), stat.st_size,
                              stat.st_mtime_ns))
        return tuple(found)

    def current(self) -> str:
        signature = self._stats()
        with self._lock:
            if signature != self._signature:
                digest = hashlib.sha256()
                for relative, _, _ in signature:
                    digest.update(relative.encode() + b"\0")
                    digest.update(hashlib.sha256((self.directory / relative).read_bytes()).digest())
                self._signature, self._version = signature, digest.hexdigest()[:VERSION_CHARS]
            return self._version

    def url(self) -> str:
        """Where the page's files are today: /static/v/<version>/ (ends in '/')."""
        return f"{VERSIONED_ROOT}/{self.current()}/"
