"""The start-up files in CPython: .pyc compiled by Pyodide's CPython (in Node), the
wheel with them, what the server serves before, after and without a build."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.bytecode import Bytecode, digest
from server.main import create_app
from server.runtime_files import IMMUTABLE, RuntimeFiles
from server.settings import REPO_ROOT, Settings
from webgl_backend.wheel import build_runtime_wheel, with_bytecode

PYODIDE_DIR = REPO_ROOT / "node_modules" / "pyodide"
PYODIDE_314_MAGIC = bytes.fromhex("2b0e0d0a")  # importlib.util.MAGIC_NUMBER of Python 3.14
UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, source not checked


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> bytes:
    if not (PYODIDE_DIR / "python_stdlib.zip").is_file():
        pytest.fail("node_modules/pyodide is missing: run `make setup` (npm install)")
    return build_runtime_wheel(tmp_path_factory.mktemp("wheel")).read_bytes()


def _small_stdlib(tmp_path: Path) -> Path:
    """A stand-in stdlib zip of three files (fast to compile)."""
    path = tmp_path / "python_stdlib.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("json/__init__.py", "VALUE = 1\n")
        archive.writestr("broken.py", "def (:\n")
        archive.writestr("json/data.txt", "not python")
    return path


def test_node_compiles_with_pyodides_cpython(tmp_path, wheel):
    stdlib = _small_stdlib(tmp_path)
    bytecode = Bytecode(PYODIDE_DIR, wheel, tmp_path / "pyc", stdlib_source=stdlib)
    assert bytecode.stdlib() is None and bytecode.wheel_pyc() is None
    assert bytecode.build()
    with zipfile.ZipFile(bytecode.stdlib()) as compiled_stdlib:
        names = set(compiled_stdlib.namelist())
        pyc = compiled_stdlib.read("json/__init__.pyc")
        assert compiled_stdlib.read("json/data.txt") == b"not python"
    assert "json/__init__.py" not in names
    assert "broken.py" in names  # a syntax error stays source: the importer reports it as before
    assert pyc[:4] == PYODIDE_314_MAGIC and int.from_bytes(pyc[4:8], "little") == UNCHECKED_HASH
    with zipfile.ZipFile(bytecode.wheel_pyc()) as compiled:
        wheel_pyc = compiled.namelist()
    with zipfile.ZipFile(io.BytesIO(wheel)) as plain:
        modules = [n for n in plain.namelist() if n.endswith(".py")]
    assert sorted(wheel_pyc) == sorted(
        f"{n.rpartition('/')[0]}/__pycache__/{n.rpartition('/')[2][:-3]}.cpython-314.pyc"
        for n in modules)
    # Cached by content: a second instance finds both and compiles nothing; other input
    # bytes are another cache entry.
    assert Bytecode(PYODIDE_DIR, wheel, tmp_path / "pyc", stdlib_source=stdlib).missing_jobs() == []
    assert len(Bytecode(PYODIDE_DIR, wheel + b"\0", tmp_path / "pyc",
                        stdlib_source=stdlib).missing_jobs()) == 1


def test_without_node_the_server_serves_the_plain_files(tmp_path, wheel):
    bytecode = Bytecode(PYODIDE_DIR, wheel, tmp_path / "pyc", node=None)
    assert bytecode.build() is False
    files = RuntimeFiles(PYODIDE_DIR, "/pyodide/314.0.7/", tmp_path / "cache",
                         compile_in_background=False, bytecode=bytecode)
    urls = files.urls()
    assert urls["pyodide_stdlib_url"] == "/pyodide/314.0.7/python_stdlib.zip"
    assert urls["runtime_wheel_url"] == files.plain_wheel.url
    assert urls["startup_key"].endswith(f"-{digest((PYODIDE_DIR / 'python_stdlib.zip').read_bytes())}"
                                        f"-{files.plain_wheel.digest}")


def test_compiled_files_replace_the_plain_ones_once_built(tmp_path, wheel):
    bytecode = Bytecode(PYODIDE_DIR, wheel, tmp_path / "pyc", node=None)
    files = RuntimeFiles(PYODIDE_DIR, "/pyodide/314.0.7/", tmp_path / "cache",
                         compile_in_background=False, bytecode=bytecode)
    before = files.urls()
    # What the compiler writes: a stdlib zip and the wheel's __pycache__ entries.
    bytecode.cache_dir.mkdir(parents=True)
    bytecode.stdlib_path.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip
    with zipfile.ZipFile(bytecode.wheel_pyc_path, "w") as pyc:
        pyc.writestr("webgl_backend/__pycache__/codegen.cpython-314.pyc", b"\x2b\x0e\x0d\x0a")
    after = files.urls()
    assert after["pyodide_stdlib_url"].startswith("/runtime/") and \
        after["pyodide_stdlib_url"].endswith("/python_stdlib.zip")
    assert after["runtime_wheel_url"] != before["runtime_wheel_url"]
    assert after["startup_key"] != before["startup_key"]  # a snapshot of the old files is not restored
    app = create_app(Settings(store_dir=tmp_path / "store", cache_dir=tmp_path / "cache2"))
    app.state.assets = dataclasses.replace(app.state.assets, runtime=files)
    client = TestClient(app, base_url="http://localhost")  # a host the server serves
    for url in (after["pyodide_stdlib_url"], after["runtime_wheel_url"], before["runtime_wheel_url"]):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == IMMUTABLE
        assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(client.get(after["runtime_wheel_url"]).content)) as served:
        assert "webgl_backend/__pycache__/codegen.cpython-314.pyc" in served.namelist()
        record = served.read(next(n for n in served.namelist() if n.endswith("RECORD"))).decode()
    assert "webgl_backend/__pycache__/codegen.cpython-314.pyc,sha256=" in record
    missing = client.get("/runtime/0000000000000000/python_stdlib.zip")
    assert missing.status_code == 404 and "is not served here" in missing.json()["detail"]


def test_a_pyc_of_no_module_is_refused(wheel):
    stray = io.BytesIO()
    with zipfile.ZipFile(stray, "w") as pyc:
        pyc.writestr("webgl_backend/__pycache__/nothing.cpython-314.pyc", b"")
    with pytest.raises(ValueError, match=r"nothing\.cpython-314\.pyc is not the \.pyc of a module"):
        with_bytecode(wheel, stray.getvalue())


def test_the_service_worker_is_served_from_the_root(tmp_path):
    client = TestClient(create_app(Settings(store_dir=tmp_path / "store",
                                            cache_dir=tmp_path / "cache")),
                        base_url="http://localhost")  # a host the server serves
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"
    assert "caches.open" in response.text
