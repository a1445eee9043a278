"""The Python the page's Pyodide loads at start-up, at content-hashed URLs, and its snapshot key.

Two files, each served at /runtime/<sha256 prefix>/<name> with immutable caching:
- the runtime wheel, with `__pycache__/*.cpython-314.pyc` added once they are compiled;
- the stdlib zip as `.pyc` once compiled (until then the page uses Pyodide's own, at its
  versioned /pyodide/ URL).
Compiling (server/bytecode.py) runs in the background when its cache lacks them, so the
files switch from plain to compiled between two page loads; each page load gets one
consistent set. `startup_key` names that set plus the Pyodide build: the page keeps its
memory snapshot of the interpreter under that key and never restores one made from
other files. A snapshot made for that set at set-up (server/served_snapshot.py) is
offered to first visits as `served_snapshot` and served at /runtime/<sha256>/snapshot.bin.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Scope

from server.bytecode import DEFAULT_CACHE_DIR, STDLIB_NAME, Bytecode, digest, pyodide_build_id
from server.served_snapshot import SNAPSHOT_FILENAME, SnapshotFiles
from webgl_backend.wheel import build_runtime_wheel, with_bytecode

IMMUTABLE = "public, max-age=31536000, immutable"
ZIP_MEDIA_TYPE = "application/zip"

log = logging.getLogger("shadernet.runtime_files")


@dataclass(frozen=True)
class HashedFile:
    """Bytes served at `url` = /runtime/<sha256 prefix>/<filename>."""

    filename: str
    digest: str
    data: bytes

    @classmethod
    def of(cls, filename: str, data: bytes) -> HashedFile:
        return cls(filename, digest(data), data)

    @property
    def url(self) -> str:
        return f"/runtime/{self.digest}/{self.filename}"


def build_wheel(cache_dir: Path) -> HashedFile:
    """Build the wheel in a fresh folder under `cache_dir/runtime`, keep it by content hash.

    Each start-up builds its own copy (so two servers never write the same file); the kept
    copy `cache_dir/runtime/<digest>/<wheel>` is for inspection, the server serves the bytes.
    """
    runtime_dir = cache_dir / "runtime"
    runtime_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=runtime_dir, prefix=".build-"))
    try:
        path = build_runtime_wheel(scratch)
        wheel = HashedFile.of(path.name, path.read_bytes())
        kept = runtime_dir / wheel.digest
        if not kept.exists():
            try:
                os.rename(scratch, kept)
            except OSError:
                pass  # another server kept the same bytes first
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return wheel


@dataclass(frozen=True)
class StartupSet:
    """One consistent set of start-up files; `stdlib` None means Pyodide's own zip."""

    wheel: HashedFile
    stdlib: HashedFile | None
    key: str


class RuntimeFiles:
    """The wheel and stdlib currently served; compiled versions replace the plain ones once built."""

    def __init__(self, pyodide_dir: Path, pyodide_url: str, cache_dir: Path,
                 pyc_cache_dir: Path = DEFAULT_CACHE_DIR, compile_in_background: bool = True,
                 bytecode: Bytecode | None = None, wheel: HashedFile | None = None) -> None:
        """`wheel`: the plain runtime wheel; by default built from this checkout. Served
        snapshots are kept in `cache_dir/snapshot`."""
        self.pyodide_url = pyodide_url
        self.snapshots = SnapshotFiles(cache_dir / "snapshot")
        self.plain_wheel = wheel or build_wheel(cache_dir)
        self.bytecode = bytecode or Bytecode(pyodide_dir, self.plain_wheel.data, pyc_cache_dir)
        self._pyodide_build = pyodide_build_id(pyodide_dir)
        self._plain_stdlib_digest = digest((pyodide_dir / STDLIB_NAME).read_bytes())
        self._lock = threading.Lock()
        self._compiled_wheel: HashedFile | None = None
        self._compiled_stdlib: HashedFile | None = None
        if compile_in_background:
            self.bytecode.start_build()

    def current(self) -> StartupSet:
        with self._lock:
            self._pick_up_compiled()
            wheel = self._compiled_wheel or self.plain_wheel
            stdlib = self._compiled_stdlib
        stdlib_digest = stdlib.digest if stdlib else self._plain_stdlib_digest
        return StartupSet(wheel, stdlib, f"{self._pyodide_build}-{stdlib_digest}-{wheel.digest}")

    def _pick_up_compiled(self) -> None:
        if self._compiled_wheel is None and (pyc := self.bytecode.wheel_pyc()) is not None:
            try:
                data = with_bytecode(self.plain_wheel.data, pyc.read_bytes())
                self._compiled_wheel = HashedFile.of(self.plain_wheel.filename, data)
            except (OSError, ValueError) as error:  # a damaged cache file: keep the plain wheel
                log.warning("not adding .pyc from %s to the runtime wheel: %s", pyc, error)
        if self._compiled_stdlib is None and (stdlib := self.bytecode.stdlib()) is not None:
            try:
                self._compiled_stdlib = HashedFile.of(STDLIB_NAME, stdlib.read_bytes())
            except OSError as error:
                log.warning("not serving the compiled stdlib %s: %s", stdlib, error)

    def urls(self) -> dict[str, str | dict | None]:
        """The page's start-up URLs, the key its memory snapshot is stored under and the
        snapshot served for that key (None when set-up made none)."""
        files = self.current()
        served = self.snapshots.find(files.key)
        return {
            "runtime_wheel_url": files.wheel.url,
            "pyodide_stdlib_url": files.stdlib.url if files.stdlib
            else self.pyodide_url + STDLIB_NAME,
            "startup_key": files.key,
            "served_snapshot": served.config() if served else None,
        }

    def served(self) -> list[HashedFile]:
        """Every file a page may still ask for: the current ones and the plain wheel."""
        files = self.current()
        return [f for f in (files.wheel, files.stdlib, self.plain_wheel) if f is not None]

    def response(self, file_digest: str, filename: str, scope: Scope) -> Response:
        if filename == SNAPSHOT_FILENAME:
            return self._snapshot_response(file_digest, scope)
        found = next((f for f in self.served()
                      if (f.digest, f.filename) == (file_digest, filename)), None)
        if found is None:
            current = self.current().wheel.url
            raise HTTPException(404, f"runtime file {file_digest[:32]}/{filename[:80]} is not "
                                     f"served here; the current one is {current}")
        etag = f'"{found.digest}"'
        headers = {"Cache-Control": IMMUTABLE, "ETag": etag}
        if etag in (Headers(scope=scope).get("if-none-match") or ""):
            return Response(status_code=304, headers=headers)
        return Response(found.data, media_type=ZIP_MEDIA_TYPE, headers=headers)

    def _snapshot_response(self, file_digest: str, scope: Scope) -> Response:
        served = self.snapshots.find(self.current().key)
        if served is None or served.url != f"/runtime/{file_digest}/{SNAPSHOT_FILENAME}":
            current = served.url if served else "none (run `make snapshot`)"
            raise HTTPException(404, f"snapshot {file_digest[:32]} is not served here; the "
                                     f"current one is {current}")
        return self.snapshots.response(served, Headers(scope=scope), IMMUTABLE)
