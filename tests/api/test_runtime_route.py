"""GET /api/runtime: where the public module (static/shadernet.mjs) finds Pyodide and the
runtime wheel on our server, the key a browser keeps its memory snapshot of them under and
the snapshot served to a first visit: the drawing page's own values, every URL served (the
snapshot with CORS for a --cors-origin, as the wheel), described in the OpenAPI schema."""

from __future__ import annotations

import io
import json
import os
import re
import zipfile

import pytest
from fastapi.testclient import TestClient

from server.main import create_app
from server.served_snapshot import PYODIDE_SNAPSHOT_MAGIC
from server.snapshot_checksum import lanes64
from server.settings import REPO_ROOT, Settings
from tests.server.conftest import app, client, server_dirs, settings  # noqa: F401 - fixtures

FIELDS = {"pyodide_base_url", "pyodide_stdlib_url", "runtime_wheel_url", "startup_key",
          "served_snapshot"}
PAGE_ORIGIN = "http://page.example"
# What the page's worker adds to the startup key (engine traits, preparation code).
KEY_TAIL = "|jspi=new,gc=1,ios=0|\nimport webgl_backend.worker_api\n"


def _page_config(client) -> dict:  # noqa: F811 - the fixture
    html = client.get("/").text
    found = re.search(r'<script id="shadernet-config" type="application/json">(.*?)</script>',
                      html, re.S)
    return json.loads(found.group(1))


def test_runtime_urls_point_at_served_files(client):  # noqa: F811 - the fixture
    urls = client.get("/api/runtime").json()
    assert set(urls) == FIELDS
    module = client.get(urls["pyodide_base_url"] + "pyodide.mjs")
    assert module.status_code == 200 and "javascript" in module.headers["content-type"]
    assert client.get(urls["pyodide_stdlib_url"]).status_code == 200
    wheel = client.get(urls["runtime_wheel_url"])
    names = zipfile.ZipFile(io.BytesIO(wheel.content)).namelist()
    assert "webgl_backend/model_sessions.py" in names


def test_without_a_served_snapshot_it_says_null_and_the_pages_key(client):  # noqa: F811
    urls = client.get("/api/runtime").json()
    config = _page_config(client)
    assert urls["served_snapshot"] is None
    assert {key: config[key] for key in FIELDS} == urls
    # The key names the Pyodide build, the stdlib and the wheel that are served.
    wheel_digest = urls["runtime_wheel_url"].split("/")[2]
    assert urls["startup_key"].endswith("-" + wheel_digest), urls


def test_the_openapi_schema_describes_it(client):  # noqa: F811 - the fixture
    spec = client.get("/openapi.json").json()
    answer = spec["paths"]["/api/runtime"]["get"]["responses"]["200"]
    ref = answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    schemas = spec["components"]["schemas"]
    properties = schemas[ref]["properties"]
    assert set(properties) == FIELDS
    assert all(properties[field].get("description") for field in FIELDS), properties
    served = schemas["ServedSnapshotPublic"]["properties"]
    assert set(served) == {"url", "key", "digest", "checksum", "bytes"}
    assert not any(path.startswith(("/runtime", "/sw.js")) for path in spec["paths"])


@pytest.fixture
def cors_app(tmp_path):
    if not (REPO_ROOT / "node_modules" / "pyodide" / "pyodide.asm.wasm").is_file():
        pytest.fail("node_modules/ is missing: run `make setup` (npm install)")
    (tmp_path / "models").mkdir()
    return create_app(Settings(models_dir=tmp_path / "models", store_dir=tmp_path / "store",
                               cache_dir=tmp_path / "cache", cors_origins=(PAGE_ORIGIN,)))


def _snapshot_bytes(size: int = 200_000) -> bytes:
    body = bytearray(size)
    body[:4] = PYODIDE_SNAPSHOT_MAGIC.to_bytes(4, "little")
    body[4096:8192] = os.urandom(4096)
    return bytes(body)


def test_a_served_snapshot_is_named_and_readable_from_a_cors_origin(cors_app):
    runtime = cors_app.state.assets.runtime
    startup_key = runtime.current().key
    data = _snapshot_bytes()
    kept = runtime.snapshots.save(startup_key, startup_key + KEY_TAIL, data, "test")
    with TestClient(cors_app, base_url="http://localhost") as client:
        urls = client.get("/api/runtime").json()
        served = urls["served_snapshot"]
        assert served == {"url": kept.url, "key": startup_key + KEY_TAIL, "digest": kept.digest,
                          "checksum": lanes64(data), "bytes": len(data)}
        assert urls["startup_key"] == startup_key
        assert {key: _page_config(client)[key] for key in FIELDS} == urls
        for origin, allowed in ((PAGE_ORIGIN, True), ("http://other.example", False)):
            headers = {"Origin": origin, "Accept-Encoding": "gzip"}
            snapshot = client.get(served["url"], headers=headers)
            wheel = client.get(urls["runtime_wheel_url"], headers=headers)
            assert snapshot.status_code == 200 and snapshot.content == data
            for response in (snapshot, wheel):
                assert (response.headers.get("access-control-allow-origin") == origin) is allowed
                assert (response.headers["cross-origin-resource-policy"] == "cross-origin") is allowed
