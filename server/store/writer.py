"""Writing the store: stage, rename into place, delete, and clean up after a crash.

A new version is written into a fresh staging folder inside the store (`.upload-<pid>-*`)
and renamed to the next free `v<N>`. A rename onto an existing version folder fails (it is
never empty), so concurrent writers to one name retry with the next number and each lands
whole. A deleted version leaves a tombstone file `v<N>.deleted`, so its number (and its
year-long cacheable URLs) is never given to other files. Staging and trash folders left by
a killed server are removed at start.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path

from server.store.errors import ConflictError
from server.store.names import version_number

log = logging.getLogger("shadernet.server")

STAGING_PREFIX = ".upload-"
TRASH_PREFIX = ".deleting-"
TOMBSTONE_SUFFIX = ".deleted"
MAX_RENAME_ATTEMPTS = 10_000
# A leftover whose writing process is not known to be alive is removed at once; one whose
# pid is alive (another worker, or a reused pid) only once it is clearly stale.
STALE_SECONDS = 3600


def write_file(path: Path, data: bytes) -> None:
    with open(path, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def new_staging(store_dir: Path) -> Path:
    staging = Path(tempfile.mkdtemp(dir=store_dir, prefix=f"{STAGING_PREFIX}{os.getpid()}-"))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes 0700; served files must be readable
    return staging


def used_numbers(model_folder: Path) -> list[int]:
    """Version numbers taken under `model_folder`: folders v<N> and tombstones v<N>.deleted."""
    numbers = []
    for path in model_folder.iterdir():
        name = path.name.removesuffix(TOMBSTONE_SUFFIX)
        number = version_number(name)
        if number is not None:
            numbers.append(number)
    return numbers


def rename_into_place(staging: Path, model_folder: Path) -> Path:
    """Rename `staging` to the next free `v<N>`; a taken number means try the next one."""
    for _ in range(MAX_RENAME_ATTEMPTS):
        model_folder.mkdir(exist_ok=True)
        target = model_folder / f"v{max(used_numbers(model_folder), default=0) + 1}"
        try:
            os.rename(staging, target)  # fails when target exists: versions are never empty
            return target
        except FileNotFoundError:
            if not staging.exists():
                raise
        except OSError as error:
            if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
    raise ConflictError(f"no free version number under {model_folder.name} after "
                        f"{MAX_RENAME_ATTEMPTS} attempts")


def delete_version_folder(store_dir: Path, folder: Path) -> None:
    """Tombstone the number, move the folder out of sight in one rename, then remove it."""
    tombstone = folder.with_name(folder.name + TOMBSTONE_SUFFIX)
    with open(tombstone, "a"):
        pass
    trash = Path(tempfile.mkdtemp(dir=store_dir, prefix=f"{TRASH_PREFIX}{os.getpid()}-"))
    os.rename(folder, trash / folder.name)
    shutil.rmtree(trash, ignore_errors=True)


def remove_leftovers(store_dir: Path) -> list[str]:
    """Remove staging and trash folders no live writer owns; return their names."""
    removed = []
    for path in store_dir.iterdir():
        if not path.name.startswith((STAGING_PREFIX, TRASH_PREFIX)):
            continue
        if path.is_symlink() or not path.is_dir():
            continue
        if _owner_alive(path.name) and time.time() - path.stat().st_mtime < STALE_SECONDS:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    if removed:
        log.warning("removed %d leftover staging folder(s) in %s: %s", len(removed), store_dir,
                    ", ".join(sorted(removed)))
    return removed


def _owner_alive(folder_name: str) -> bool:
    pid_text = folder_name.split("-")[1] if folder_name.count("-") >= 2 else ""
    if not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False  # an older server's name, or ours from before a restart in this process
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def usage_bytes(store_dir: Path, exclude: Path | None = None) -> int:
    """Bytes in every regular file under the store but `exclude` (links are not followed)."""
    total = 0
    for root, folders, files in os.walk(store_dir):
        if exclude is not None and Path(root) == store_dir:
            folders[:] = [f for f in folders if store_dir / f != exclude]
        for file in files:
            try:
                info = os.lstat(os.path.join(root, file))
            except OSError:
                continue  # removed while we walked
            if stat.S_ISREG(info.st_mode):
                total += info.st_size
    return total

