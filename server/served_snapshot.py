"""The memory snapshot served to a browser that has none of its own yet (a first visit).

A page keeps the snapshot of its interpreter in the browser (static/snapshot_store.js);
a first-time visitor has none and boots Python from source. So set-up
(`python -m server.snapshot_maker`, `make snapshot`) lets this same page make one in
headless Chromium and keeps it here, in `<cache_dir>/snapshot/` (Settings.cache_dir):

    <startup key>.json        {key, digest, checksum, bytes, file, made_by, made_at}
    snapshot-<sha16>.bin      the bytes the browser stored, exactly (its zero pages left
                              out, static/snapshot_pages.js: 30 MiB -> ~13 MB)
    snapshot-<sha16>.bin.gz   the same, gzip-compressed (~5 MB), made once

where the startup key names the served start-up files (server/runtime_files.py) and `key`
is the whole key the page stores its own snapshot under (those files, the engine's
traits, the page's preparation code): the page uses a served snapshot only under exactly
its own key and only if its checksum is `checksum` (server/snapshot_checksum.py, cheaper
than SHA-256 on the page's start; a record without one is checked by `digest`, its
SHA-256). The server serves it at /runtime/<sha16>/snapshot.bin (immutable) only after
checking that digest itself once, so a damaged or swapped file is never offered.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import struct
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response

from server.snapshot_checksum import lanes64

SNAPSHOT_FILENAME = "snapshot.bin"
# Pyodide's heap starts at 30 MiB; a snapshot far beyond it is not one of ours.
MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024
# Pyodide's snapshot header: its first uint32 (little-endian), b"\0snp" (Pyodide 314).
PYODIDE_SNAPSHOT_MAGIC = 0x706E7300
# The page keeps and uploads it with its zero pages left out (static/snapshot_pages.js):
# b"SNZ1", unpacked length, run count, (offset, length) per run, the runs' bytes.
PACKED_MAGIC = 0x315A4E53
PACKED_HEADER = struct.Struct("<III")
PACKED_RUN = struct.Struct("<II")
KEY_SEPARATOR = "|"

log = logging.getLogger("shadernet.served_snapshot")


class SnapshotRefused(ValueError):
    """Bytes or a key that cannot be served as a snapshot; the message says why."""


@dataclass(frozen=True)
class ServedSnapshot:
    """One kept snapshot: `digest` is "sha256:<hex>" of `path`'s bytes, `checksum` their
    lanes64 (None in a record kept before there was one)."""

    key: str
    digest: str
    size: int
    path: Path
    checksum: str | None = None

    @property
    def gzip_path(self) -> Path:
        return self.path.with_name(self.path.name + ".gz")

    @property
    def url(self) -> str:
        return f"/runtime/{self.digest.removeprefix('sha256:')[:16]}/{SNAPSHOT_FILENAME}"

    def config(self) -> dict:
        """What the page config says about it (static/snapshot_served.js reads it)."""
        config = {"url": self.url, "key": self.key, "digest": self.digest, "bytes": self.size}
        return {**config, "checksum": self.checksum} if self.checksum else config


def _sha256_file(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            sha.update(chunk)
    return f"sha256:{sha.hexdigest()}"


def _write_atomically(path: Path, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".tmp-", delete=False) as file:
        file.write(data)
    os.chmod(file.name, 0o644)  # like any other cache file (mkstemp makes it private)
    os.replace(file.name, path)


def check_snapshot(startup_key: str, key: str, data: bytes) -> None:
    """SnapshotRefused unless `data` may be served under `key` for `startup_key`'s files."""
    if not key.startswith(startup_key + KEY_SEPARATOR):
        raise SnapshotRefused(f"snapshot key {key[:80]!r} is not for the served start-up files "
                              f"{startup_key!r} (it must start with {startup_key + '|'!r})")
    if not 1024 <= len(data) <= MAX_SNAPSHOT_BYTES:
        raise SnapshotRefused(f"snapshot of {len(data)} bytes: a Pyodide snapshot has 1 KiB "
                              f"to {MAX_SNAPSHOT_BYTES >> 20} MiB")
    magic = int.from_bytes(data[:4], "little")
    if magic == PACKED_MAGIC:
        data = _first_packed_run(data)
        magic = int.from_bytes(data[:4], "little")
    if magic != PYODIDE_SNAPSHOT_MAGIC:
        raise SnapshotRefused(f"snapshot starts with 0x{magic:08x}, not Pyodide's magic "
                              f"0x{PYODIDE_SNAPSHOT_MAGIC:08x} (packed or not)")


def _first_packed_run(data: bytes) -> bytes:
    """The bytes of a packed snapshot's first run, once its header is found to add up."""
    if len(data) < PACKED_HEADER.size:
        raise SnapshotRefused("packed snapshot shorter than its header")
    _, unpacked, count = PACKED_HEADER.unpack_from(data)
    if unpacked > MAX_SNAPSHOT_BYTES:
        raise SnapshotRefused(f"packed snapshot unpacks to {unpacked} bytes, more than "
                              f"{MAX_SNAPSHOT_BYTES >> 20} MiB")
    payload_at = PACKED_HEADER.size + PACKED_RUN.size * count
    if count == 0 or payload_at > len(data):
        raise SnapshotRefused(f"packed snapshot lists {count} runs, which its "
                              f"{len(data)} bytes cannot hold")
    runs = [PACKED_RUN.unpack_from(data, PACKED_HEADER.size + PACKED_RUN.size * i)
            for i in range(count)]
    end = 0
    for index, (offset, length) in enumerate(runs):
        if offset < end or offset + length > unpacked:
            raise SnapshotRefused(f"packed snapshot: run {index} ({offset}+{length}) overlaps "
                                  f"the one before or ends past {unpacked} bytes")
        end = offset + length
    if payload_at + sum(length for _, length in runs) != len(data):
        raise SnapshotRefused("packed snapshot: its runs' lengths do not add up to its size")
    if runs[0][0] != 0:
        raise SnapshotRefused("packed snapshot: its first run is not Pyodide's header")
    return data[payload_at:payload_at + runs[0][1]]


class SnapshotFiles:
    """The kept snapshots in one folder, by startup key; each file's digest checked once."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._checked: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) -> digest
        self._lock = threading.Lock()

    def _meta_path(self, startup_key: str) -> Path:
        return self.directory / f"{hashlib.sha256(startup_key.encode()).hexdigest()[:24]}.json"

    def save(self, startup_key: str, key: str, data: bytes, made_by: str = "") -> ServedSnapshot:
        """Keep `data` as the snapshot served for `startup_key`; SnapshotRefused if it cannot be."""
        check_snapshot(startup_key, key, data)
        digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
        checksum = lanes64(data)
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"snapshot-{digest[7:23]}.bin"
        _write_atomically(path, data)
        stat = path.stat()  # these bytes' digest is known: no need to read them back once
        with self._lock:
            self._checked[(str(path), stat.st_size, stat.st_mtime_ns)] = digest
        _write_atomically(path.with_name(path.name + ".gz"),
                          gzip.compress(data, compresslevel=9, mtime=0))
        meta = {"startup_key": startup_key, "key": key, "digest": digest, "checksum": checksum,
                "bytes": len(data), "file": path.name, "made_by": made_by, "made_at": time.time()}
        # The metadata last: a reader never finds it before the files it names.
        _write_atomically(self._meta_path(startup_key), json.dumps(meta, indent=1).encode())
        return ServedSnapshot(key, digest, len(data), path, checksum)

    def find(self, startup_key: str) -> ServedSnapshot | None:
        """The snapshot kept for `startup_key` when its files are whole and match their digest."""
        meta_path = self._meta_path(startup_key)
        try:
            meta = json.loads(meta_path.read_text("utf-8"))
            path = self.directory / Path(str(meta["file"])).name
            checksum = meta.get("checksum")
            snapshot = ServedSnapshot(str(meta["key"]), str(meta["digest"]), int(meta["bytes"]),
                                      path, str(checksum) if checksum else None)
            if meta.get("startup_key") != startup_key or not snapshot.key.startswith(
                    startup_key + KEY_SEPARATOR):
                raise ValueError(f"it names another startup key, {meta.get('startup_key')!r}")
            self._verify(snapshot)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.warning("not serving the memory snapshot of %s: %s", meta_path, error)
            return None
        return snapshot

    def forget(self, startup_key: str) -> None:
        """Stop offering the snapshot kept for `startup_key` (its files stay until prune)."""
        self._meta_path(startup_key).unlink(missing_ok=True)

    def prune(self, keep: ServedSnapshot) -> None:
        """Delete every kept snapshot but `keep` (each is ~18 MB with its gzip copy; set-up keeps the newest)."""
        for path in self.directory.iterdir():
            if path.name.startswith("snapshot-") and not path.name.startswith(keep.path.name):
                path.unlink(missing_ok=True)
            elif path.suffix == ".json":
                try:
                    named = json.loads(path.read_text("utf-8")).get("file")
                except (OSError, ValueError):
                    named = None
                if named != keep.path.name:
                    path.unlink(missing_ok=True)

    def _verify(self, snapshot: ServedSnapshot) -> None:
        for path in (snapshot.path, snapshot.gzip_path):
            stat = path.stat()  # FileNotFoundError: a half-deleted set, nothing to serve
            if path is snapshot.path and stat.st_size != snapshot.size:
                raise ValueError(f"{path.name} has {stat.st_size} bytes, its record says "
                                 f"{snapshot.size}")
        stat = snapshot.path.stat()
        stamp = (str(snapshot.path), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            actual = self._checked.get(stamp)
            if actual is None:
                actual = self._checked[stamp] = _sha256_file(snapshot.path)
        if actual != snapshot.digest:
            raise ValueError(f"{snapshot.path.name} has digest {actual[:23]}…, its record "
                             f"says {snapshot.digest[:23]}…")

    def response(self, snapshot: ServedSnapshot, request_headers: Headers,
                 cache_control: str) -> Response:
        """The bytes, gzip-encoded (the kept .gz) when the client accepts it; 304 on its ETag."""
        etag = f'"{snapshot.digest[7:39]}"'
        headers = {"Cache-Control": cache_control, "ETag": etag, "Vary": "Accept-Encoding"}
        if etag in (request_headers.get("if-none-match") or ""):
            return Response(status_code=304, headers=headers)
        if "gzip" in request_headers.get("accept-encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return FileResponse(snapshot.gzip_path, media_type="application/octet-stream",
                                headers=headers)
        return FileResponse(snapshot.path, media_type="application/octet-stream", headers=headers)
