"""Replace a folder of exported files whole or not at all.

The files go into a fresh temporary folder beside the target, which is then renamed into
place; an existing target is moved aside first and restored if the rename fails, and it is
only replaced when it holds nothing but an earlier export (so a mistyped OUT_DIR such as a
home folder is refused, never emptied).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

EXPORT_FILE = re.compile(r"^(model\.json|group\d+-shard\d+of\d+\.bin)$")


class ExportError(ValueError):
    """The model cannot be written in the TF.js layers format, or out_dir cannot be replaced."""


def write_folder(out_dir: Path, files: dict[str, bytes]) -> Path:
    """Write `files` into a fresh temporary folder beside `out_dir`, then rename it into place.

    An existing `out_dir` is only replaced when it holds nothing but an earlier export
    (model.json, group*-shard*.bin); it is moved aside first and restored if the rename fails.
    """
    out_dir = Path(out_dir)
    if out_dir.exists():
        _check_replaceable(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.export-"))
    try:
        for name, data in files.items():
            with open(staging / name, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes it 0700; a served folder must be readable
        _swap_into_place(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


def _check_replaceable(out_dir: Path) -> None:
    if not out_dir.is_dir():
        raise ExportError(f"export: {out_dir} exists and is not a folder")
    strangers = sorted(p.name for p in out_dir.iterdir()
                       if not (p.is_file() and EXPORT_FILE.match(p.name)))
    if strangers:
        shown = ", ".join(strangers[:5]) + (", ..." if len(strangers) > 5 else "")
        raise ExportError(f"export: {out_dir} holds files that are not part of an export "
                          f"({shown}); refusing to replace it. Choose a new or empty folder.")


def _swap_into_place(staging: Path, out_dir: Path) -> None:
    if not out_dir.exists():
        os.replace(staging, out_dir)
        return
    backup = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.old-"))
    os.rmdir(backup)  # only the unique name is wanted
    os.replace(out_dir, backup)
    try:
        os.replace(staging, out_dir)
    except BaseException:
        os.replace(backup, out_dir)
        raise
    shutil.rmtree(backup, ignore_errors=True)
