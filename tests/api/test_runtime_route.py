"""GET /api/runtime: where the public module (static/shadernet.mjs) finds Pyodide and the
runtime wheel on our server; every URL it names is served."""

from __future__ import annotations

import io
import zipfile

from tests.server.conftest import app, client, server_dirs, settings  # noqa: F401 - fixtures


def test_runtime_urls_point_at_served_files(client):  # noqa: F811 - the fixture
    urls = client.get("/api/runtime").json()
    assert set(urls) == {"pyodide_base_url", "pyodide_stdlib_url", "runtime_wheel_url"}
    module = client.get(urls["pyodide_base_url"] + "pyodide.mjs")
    assert module.status_code == 200 and "javascript" in module.headers["content-type"]
    assert client.get(urls["pyodide_stdlib_url"]).status_code == 200
    wheel = client.get(urls["runtime_wheel_url"])
    names = zipfile.ZipFile(io.BytesIO(wheel.content)).namelist()
    assert "webgl_backend/model_sessions.py" in names
