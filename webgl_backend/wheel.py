"""Build the `py3-none-any` wheel of the runtime that the page installs into Pyodide.

Standard library only. The wheel holds `webgl_backend/**.py` and the GLSL templates from
the repository's `shaders/` packed as `webgl_backend/shaders/*.glsl` (where
`codegen.load_template` looks first), plus METADATA, WHEEL and RECORD, so that
`await pyodide.loadPackage(url)` installs it. `with_bytecode` adds the modules' `.pyc`
(compiled elsewhere, by the CPython that will import them) to a built wheel.

    python -m webgl_backend.wheel build/wheels   # prints the wheel's path
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import zipfile
from pathlib import Path

DISTRIBUTION = "shadernet_runtime"
VERSION = "0.1.0"
PACKAGE_DIR = Path(__file__).resolve().parent
SHADERS_DIR = PACKAGE_DIR.parent / "shaders"
# A fixed timestamp makes the wheel's bytes depend on its contents only.
_ZIP_DATE = (2026, 1, 1, 0, 0, 0)


def wheel_name() -> str:
    return f"{DISTRIBUTION}-{VERSION}-py3-none-any.whl"


def _package_files() -> list[tuple[str, bytes]]:
    """(archive path, bytes) of every module and template, sorted for reproducibility."""
    files = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        files.append((path.relative_to(PACKAGE_DIR.parent).as_posix(), path.read_bytes()))
    packaged_shaders = PACKAGE_DIR / "shaders"
    shader_dir = SHADERS_DIR if SHADERS_DIR.is_dir() else packaged_shaders
    templates = sorted(shader_dir.glob("*.glsl"))
    if not templates:
        raise FileNotFoundError(f"no shader templates (*.glsl) in {shader_dir}")
    for path in templates:
        files.append((f"webgl_backend/shaders/{path.name}", path.read_bytes()))
    return files


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode('ascii')}"


def _metadata() -> bytes:
    return (
        "Metadata-Version: 2.1\n"
        f"Name: {DISTRIBUTION}\n"
        f"Version: {VERSION}\n"
        "Summary: shadernet GPU runtime: GLSL generated in Python, run on WebGL2 (Pyodide)\n"
        "Requires-Python: >=3.11\n"
    ).encode("utf-8")


def _wheel_file() -> bytes:
    return (
        "Wheel-Version: 1.0\n"
        "Generator: webgl_backend.wheel\n"
        "Root-Is-Purelib: true\n"
        "Tag: py3-none-any\n"
    ).encode("utf-8")


def _record(entries: list[tuple[str, bytes]], dist_info: str) -> bytes:
    lines = [f"{name},{_record_hash(data)},{len(data)}" for name, data in entries]
    lines.append(f"{dist_info}/RECORD,,")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _write_zip(target, entries: list[tuple[str, bytes]]) -> None:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)


def build_runtime_wheel(out_dir) -> Path:
    """Write `shadernet_runtime-0.1.0-py3-none-any.whl` into `out_dir` and return its path.

    Written to a temporary name and moved into place, so a reader never sees half a wheel.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dist_info = f"{DISTRIBUTION}-{VERSION}.dist-info"
    entries = _package_files()
    entries.append((f"{dist_info}/METADATA", _metadata()))
    entries.append((f"{dist_info}/WHEEL", _wheel_file()))
    entries.append((f"{dist_info}/top_level.txt", b"webgl_backend\n"))
    entries.append((f"{dist_info}/RECORD", _record(entries, dist_info)))
    target = out_dir / wheel_name()
    partial = out_dir / (wheel_name() + ".partial")
    _write_zip(partial, entries)
    partial.replace(target)
    return target


def with_bytecode(wheel: bytes, bytecode: bytes) -> bytes:
    """The wheel's bytes with the `__pycache__/*.pyc` entries of the zip `bytecode` added.

    Each `.pyc` must belong to a module of the wheel (a stray one would be imported in
    place of nothing); RECORD is rewritten to list them.
    """
    dist_info = f"{DISTRIBUTION}-{VERSION}.dist-info"
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        entries = [(name, archive.read(name)) for name in archive.namelist()
                   if name != f"{dist_info}/RECORD"]
    modules = {name for name, _ in entries if name.endswith(".py")}
    with zipfile.ZipFile(io.BytesIO(bytecode)) as archive:
        for name in sorted(archive.namelist()):
            folder, _, file = name.rpartition("/__pycache__/")
            source = f"{folder}/{file.split('.', 1)[0]}.py"
            if not file.endswith(".pyc") or source not in modules:
                raise ValueError(f"bytecode archive: {name} is not the .pyc of a module in "
                                 f"the wheel (expected <package>/__pycache__/<module>.<tag>.pyc)")
            entries.append((name, archive.read(name)))
    entries.append((f"{dist_info}/RECORD", _record(entries, dist_info)))
    out = io.BytesIO()
    _write_zip(out, entries)
    return out.getvalue()


if __name__ == "__main__":
    print(build_runtime_wheel(sys.argv[1] if len(sys.argv) > 1 else "dist"))
