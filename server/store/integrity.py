"""What may be read from disk: plain files and folders inside a root, never through a link.

Every path the store lists or serves is checked here: each component below the root must be
a real folder (lstat, no symlink), the file a regular file, and its resolved path must stay
inside the root. Recorded files are also checked against the size and sha256 written into
meta.json; the digest is computed once per file state (inode, size, mtime, ctime), so a file
changed or truncated later is hashed again and caught before it is listed or served.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from pathlib import Path

from server.store.meta import StoredFile

READ_CHUNK = 1024 * 1024


class IntegrityError(ValueError):
    """A file is not where, what or how big it should be; the message says which."""


def checked_dir(root: Path, *parts: str) -> Path:
    """root/parts... if every part is a real folder (not a link) inside root."""
    path = root
    for part in parts:
        path = path / part
        info = _lstat(path)
        if stat.S_ISLNK(info.st_mode):
            raise IntegrityError(f"{path} is a symbolic link; the store never follows links")
        if not stat.S_ISDIR(info.st_mode):
            raise IntegrityError(f"{path} is not a folder")
    _inside(root, path)
    return path


def checked_file(folder: Path, name: str) -> os.stat_result:
    """lstat of folder/name if it is a regular file (not a link); IntegrityError if not."""
    path = folder / name
    info = _lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise IntegrityError(f"{path} is a symbolic link; the store never follows links")
    if not stat.S_ISREG(info.st_mode):
        raise IntegrityError(f"{path} is not a regular file")
    return info


def read_plain_file(folder: Path, name: str, limit: int) -> bytes:
    """The bytes of folder/name, opened without following a link, at most `limit` bytes."""
    path = folder / name
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as error:
        raise IntegrityError(f"{path}: cannot open ({error.strerror})") from None
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise IntegrityError(f"{path} is not a regular file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise IntegrityError(f"{path} is over {limit} bytes")
    return data


def _lstat(path: Path) -> os.stat_result:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        raise IntegrityError(f"{path} is missing") from None
    except OSError as error:
        raise IntegrityError(f"{path}: {error.strerror}") from None


def _inside(root: Path, path: Path) -> None:
    resolved_root = root.resolve()
    if not path.resolve().is_relative_to(resolved_root):
        raise IntegrityError(f"{path} resolves outside {resolved_root}")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(descriptor, "rb", buffering=0) as handle:
        while chunk := handle.read(READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class FileVerifier:
    """Checks files against their StoredFile records; remembers digests per file state."""

    def __init__(self) -> None:
        self._digests: dict[tuple, str] = {}
        self._lock = threading.Lock()

    def verify(self, folder: Path, record: StoredFile) -> None:
        info = checked_file(folder, record.name)
        if info.st_size != record.size:
            raise IntegrityError(f"{folder / record.name}: {info.st_size} bytes, meta.json "
                                 f"recorded {record.size}")
        key = (str(folder / record.name), info.st_dev, info.st_ino, info.st_size,
               info.st_mtime_ns, info.st_ctime_ns)
        with self._lock:
            digest = self._digests.get(key)
        if digest is None:
            digest = sha256_of(folder / record.name)
            with self._lock:
                self._digests[key] = digest
        if digest != record.sha256:
            raise IntegrityError(f"{folder / record.name}: sha256 {digest[:16]}..., meta.json "
                                 f"recorded {record.sha256[:16]}...")

    def forget(self, folder: Path) -> None:
        prefix = str(folder) + os.sep
        with self._lock:
            for key in [k for k in self._digests if k[0].startswith(prefix)]:
                del self._digests[key]
