"""The server's side of the served snapshot, in CPython: what it keeps and refuses, what it
puts in the page config, and how it serves the bytes (gzip-encoded, immutable, 404 for
any other digest; a damaged kept file is not offered)."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import struct

import pytest
from fastapi.testclient import TestClient

from server.main import create_app
from server.served_snapshot import (MAX_SNAPSHOT_BYTES, PYODIDE_SNAPSHOT_MAGIC, SnapshotFiles,
                                    SnapshotRefused)
from server.settings import REPO_ROOT, Settings
from tests.support.packed_snapshot import pack_pages

PREPARE_TAIL = "|jspi=new,gc=1,ios=0|\nimport webgl_backend.worker_api\n"


def _snapshot_bytes(size: int = 300_000) -> bytes:
    """Pyodide's magic, then bytes that compress like a heap (mostly zeros, some noise)."""
    body = bytearray(size)
    body[:4] = PYODIDE_SNAPSHOT_MAGIC.to_bytes(4, "little")
    body[4096:8192] = os.urandom(4096)
    return bytes(body)


@pytest.fixture
def app(tmp_path):
    if not (REPO_ROOT / "node_modules" / "pyodide" / "pyodide.asm.wasm").is_file():
        pytest.fail("node_modules/ is missing: run `make setup` (npm install)")
    (tmp_path / "models").mkdir()
    return create_app(Settings(models_dir=tmp_path / "models", store_dir=tmp_path / "store",
                               cache_dir=tmp_path / "cache"))


def _save(app, data: bytes | None = None):
    runtime = app.state.assets.runtime
    startup_key = runtime.current().key
    return runtime.snapshots.save(startup_key, startup_key + PREPARE_TAIL,
                                  data or _snapshot_bytes(), "test")


def test_the_page_config_names_the_snapshot_for_its_files(app):
    with TestClient(app, base_url="http://localhost") as client:
        assert client.get("/api/runtime").status_code == 200
        runtime = app.state.assets.runtime
        assert runtime.urls()["served_snapshot"] is None  # set-up made none yet
        served = _save(app)
        config = runtime.urls()["served_snapshot"]
        assert config == {"url": served.url, "key": runtime.current().key + PREPARE_TAIL,
                          "digest": served.digest, "checksum": served.checksum,
                          "bytes": served.size}
        assert served.checksum.startswith("lanes64:")
        page = client.get("/").text
        assert json.dumps(served.url) in page


def test_it_is_served_gzip_encoded_immutable_and_only_at_its_digest(app):
    data = _snapshot_bytes()
    served = _save(app, data)
    with TestClient(app, base_url="http://localhost") as client:
        with client.stream("GET", served.url, headers={"Accept-Encoding": "gzip"}) as response:
            wire = b"".join(response.iter_raw())
            headers = response.headers
        assert response.status_code == 200 and headers["content-encoding"] == "gzip"
        assert gzip.decompress(wire) == data and len(wire) < len(data) / 10
        assert headers["cache-control"] == "public, max-age=31536000, immutable"
        assert headers["content-type"] == "application/octet-stream"
        plain = client.get(served.url, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.content == data
        again = client.get(served.url, headers={"If-None-Match": headers["etag"]})
        assert again.status_code == 304
        other = client.get("/runtime/0123456789abcdef/snapshot.bin")
        assert other.status_code == 404 and "0123456789abcdef" in other.json()["detail"]


def test_a_damaged_kept_file_is_not_offered(app, caplog):
    served = _save(app)
    damaged = bytearray(served.path.read_bytes())
    damaged[5000] ^= 1
    served.path.write_bytes(bytes(damaged))
    runtime = app.state.assets.runtime
    assert runtime.urls()["served_snapshot"] is None
    assert "digest" in caplog.text
    with TestClient(app, base_url="http://localhost") as client:
        assert client.get(served.url).status_code == 404


def test_a_snapshot_for_other_files_is_not_offered(app, tmp_path):
    runtime = app.state.assets.runtime
    served = _save(app)
    # Another wheel's start-up key: the kept snapshot is not for it.
    other = SnapshotFiles(runtime.snapshots.directory)
    assert other.find(runtime.current().key + "-other") is None
    assert other.find(runtime.current().key) == served
    shutil.rmtree(runtime.snapshots.directory)
    assert runtime.urls()["served_snapshot"] is None


def _packed(runs: list[tuple[int, int]], unpacked: int, payload: bytes | None = None) -> bytes:
    """A packed snapshot with this header (static/snapshot_pages.js), whatever it holds."""
    table = b"".join(struct.pack("<II", offset, length) for offset, length in runs)
    body = payload if payload is not None else (
        PYODIDE_SNAPSHOT_MAGIC.to_bytes(4, "little") + bytes(sum(n for _, n in runs) - 4))
    return b"SNZ1" + struct.pack("<II", unpacked, len(runs)) + table + body


@pytest.mark.parametrize("key_tail, data, why", [
    ("|x", b"\x00snp" + bytes(100), "1 KiB"),
    ("|x", b"PK\x03\x04" + bytes(5000), "magic"),
    (None, _snapshot_bytes(5000), "not for the served start-up files"),
    ("|x", PYODIDE_SNAPSHOT_MAGIC.to_bytes(4, "little") + bytes(MAX_SNAPSHOT_BYTES), "MiB"),
    ("|x", _packed([(0, 4096)], MAX_SNAPSHOT_BYTES + 1), "unpacks to"),
    ("|x", _packed([(0, 4096), (2048, 4096)], 65536), "overlaps"),
    ("|x", _packed([(0, 4096), (8192, 4096)], 10000), "ends past"),
    ("|x", _packed([(4096, 4096)], 65536), "first run"),
    ("|x", _packed([(0, 4096)], 65536, b"\x00snp" + bytes(5000)), "do not add up"),
    ("|x", _packed([(0, 4096)], 65536, b"PK\x03\x04" + bytes(4092)), "magic"),
    ("|x", b"SNZ1" + struct.pack("<II", 65536, 10**6) + bytes(2000), "runs"),
], ids=["tiny", "not-pyodide", "other-key", "huge", "packed-huge", "packed-overlap",
        "packed-past-end", "packed-no-header", "packed-short", "packed-not-pyodide",
        "packed-table"])
def test_what_it_refuses_to_keep(tmp_path, key_tail, data, why):
    files = SnapshotFiles(tmp_path / "snapshot")
    key = "build-stdlib-wheel" + key_tail if key_tail else "another-key|x"
    with pytest.raises(SnapshotRefused, match=why):
        files.save("build-stdlib-wheel", key, data)
    assert not (tmp_path / "snapshot").exists()


def test_a_packed_snapshot_is_kept_and_served_as_it_was_given(app):
    data = pack_pages(_snapshot_bytes(1_000_000))
    assert len(data) < 20_000  # two non-zero pages of 245
    served = _save(app, data)
    with TestClient(app, base_url="http://localhost") as client:
        response = client.get(served.url, headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200 and response.content == data


def test_the_server_needs_no_snapshot(app):
    """Without one the page config says None and the route answers 404, never 500."""
    with TestClient(app, base_url="http://localhost") as client:
        response = client.get("/runtime/fa515a159d3a6efa/snapshot.bin")
        assert response.status_code == 404
        assert "make snapshot" in response.json()["detail"]


def test_set_up_keeps_only_the_newest(tmp_path):
    files = SnapshotFiles(tmp_path / "snapshot")
    old = files.save("old-files", "old-files|x", _snapshot_bytes())
    new = files.save("new-files", "new-files|x", _snapshot_bytes())
    files.prune(keep=new)
    assert files.find("old-files") is None and not old.path.exists()
    assert files.find("new-files") == new and new.gzip_path.exists()
