"""What the page loads: Pyodide and TF.js files, the runtime wheel, the rendered page, docs."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest

from server.assets import AssetsError
from server.cli import add_serve_arguments, run_serve
from server.main import create_app
from server.settings import Settings
from tests.server.conftest import NODE_MODULES

PYODIDE_VERSION = json.loads((NODE_MODULES / "pyodide" / "package.json").read_text())["version"] \
    if (NODE_MODULES / "pyodide" / "package.json").is_file() else "missing"
TFJS_VERSION = json.loads((NODE_MODULES / "@tensorflow/tfjs/package.json").read_text())["version"] \
    if (NODE_MODULES / "@tensorflow/tfjs/package.json").is_file() else "missing"
IMMUTABLE = "public, max-age=31536000, immutable"


def _page_config(client) -> dict:
    html = client.get("/").text
    found = re.search(r'<script id="shadernet-config" type="application/json">(.*?)</script>', html, re.S)
    assert found, html
    return json.loads(found.group(1))


@pytest.mark.parametrize("file, media_type", [
    ("pyodide.asm.wasm", "application/wasm"),
    ("pyodide.mjs", "text/javascript"),
    ("pyodide.asm.mjs", "text/javascript"),
    ("python_stdlib.zip", "application/zip"),
    ("pyodide-lock.json", "application/json"),
])
def test_pyodide_files_have_types_and_long_cache(client, file, media_type):
    response = client.get(f"/pyodide/{PYODIDE_VERSION}/{file}")
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    assert response.headers["cache-control"] == IMMUTABLE
    assert response.content == (NODE_MODULES / "pyodide" / file).read_bytes()
    again = client.get(f"/pyodide/{PYODIDE_VERSION}/{file}",
                       headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.headers["cache-control"] == IMMUTABLE


@pytest.mark.parametrize("url", [
    "/pyodide/0.0.1/pyodide.mjs",
    f"/pyodide/{PYODIDE_VERSION}/README.md",
    f"/pyodide/{PYODIDE_VERSION}/node_modules/ws/package.json",
    f"/pyodide/{PYODIDE_VERSION}/..%2Fpyodide%2Fpackage.json",
], ids=["other-version", "unlisted-suffix", "nested-folder", "traversal"])
def test_other_pyodide_paths_are_404(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert isinstance(response.json()["detail"], str)


def test_tfjs_served_for_the_benchmark_page(client):
    response = client.get(f"/vendor/tfjs/{TFJS_VERSION}/tf.min.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == IMMUTABLE
    assert len(response.content) > 100_000


def test_runtime_wheel_url_serves_a_valid_wheel(client):
    url = _page_config(client)["runtime_wheel_url"]
    assert re.fullmatch(r"/runtime/[0-9a-f]{16}/shadernet_runtime-0\.1\.0-py3-none-any\.whl", url)
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["cache-control"] == IMMUTABLE
    with zipfile.ZipFile(io.BytesIO(response.content)) as wheel:
        assert wheel.testzip() is None
        names = wheel.namelist()
    assert "webgl_backend/model_format/reader.py" in names
    assert any(n.startswith("webgl_backend/shaders/") and n.endswith(".glsl") for n in names)
    assert any(n.endswith(".dist-info/RECORD") for n in names)
    assert client.get(url, headers={"If-None-Match": response.headers["etag"]}).status_code == 304
    stale = client.get("/runtime/0000000000000000/shadernet_runtime-0.1.0-py3-none-any.whl")
    assert stale.status_code == 404
    assert f"the current one is {url}" in stale.json()["detail"]


def test_index_renders_the_injected_urls(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    config = _page_config(client)
    assert config["pyodide_base_url"] == f"/pyodide/{PYODIDE_VERSION}/"
    assert re.fullmatch(r"/api/models/default/versions/shipped@[0-9a-f]{16}/model\.json",
                        config["default_model_url"]), config["default_model_url"]
    assert config["models_api_url"] == "/api/models"
    for key in ("pyodide_module_url", "runtime_wheel_url", "default_model_url", "tfjs_url",
                "models_api_url"):
        assert client.get(config[key]).status_code == 200, key
    assert f'href="/pyodide/{PYODIDE_VERSION}/pyodide.mjs"' in response.text


def test_static_files_are_served_and_revalidated(client):
    response = client.get("/static/app.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"
    assert client.get("/static/missing.js").status_code == 404


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok", "models": len(client.get("/api/models").json())}


def test_openapi_describes_the_model_routes(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    assert {"/api/models", "/api/models/{name}", "/api/models/{name}/versions",
            "/api/models/{name}/versions/{version}",
            "/api/models/{name}/versions/{version}/{file}", "/healthz"} <= set(paths)
    post = paths["/api/models/{name}/versions"]["post"]
    assert {"201", "400", "409", "413", "422"} <= set(post["responses"])
    form_ref = post["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    form = spec["components"]["schemas"][form_ref.rsplit("/", 1)[1]]
    assert {"model_json", "shards", "base"} <= set(form["properties"])
    assert not any(p.startswith(("/pyodide", "/runtime", "/static")) for p in paths)
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_missing_node_modules_fails_at_start_with_the_fix(tmp_path):
    settings = Settings(models_dir=tmp_path / "models", store_dir=tmp_path / "store",
                        cache_dir=tmp_path / "cache", node_modules_dir=tmp_path / "node_modules")
    with pytest.raises(AssetsError, match=r"node_modules is missing .*run `make setup`"):
        create_app(settings)
    assert not (tmp_path / "store").exists()


def test_serve_command_reports_missing_node_modules(tmp_path, capsys, monkeypatch):
    import argparse
    import server.cli

    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    args = parser.parse_args(["--models", str(tmp_path / "m"), "--store", str(tmp_path / "s"),
                              "--port", "0"])
    assert (args.host, args.port) == ("127.0.0.1", 0)
    original = server.cli.Settings

    def settings_without_node_modules(**kwargs):
        return original(**kwargs, node_modules_dir=tmp_path / "nm", cache_dir=tmp_path / "c")
    monkeypatch.setattr(server.cli, "Settings", settings_without_node_modules)
    assert run_serve(args) == 2
    assert re.search(r"shadernet serve: error: .*nm is missing .*make setup", capsys.readouterr().err)


def test_docs_use_local_swagger_ui_when_installed(tmp_path):
    """With `swagger-ui-dist` in node_modules, /docs loads no file from a CDN."""
    from tests.server.conftest import TestClient

    node_modules = tmp_path / "node_modules"
    (node_modules / "@tensorflow").mkdir(parents=True)
    (node_modules / "pyodide").symlink_to(NODE_MODULES / "pyodide")
    (node_modules / "@tensorflow" / "tfjs").symlink_to(NODE_MODULES / "@tensorflow" / "tfjs")
    swagger = node_modules / "swagger-ui-dist"
    swagger.mkdir()
    (swagger / "package.json").write_text('{"name": "swagger-ui-dist", "version": "5.0.0"}')
    for file in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"):
        (swagger / file).write_bytes(b"/* stand-in */")
    app = create_app(Settings(models_dir=tmp_path / "models", store_dir=tmp_path / "store",
                              cache_dir=tmp_path / "cache", node_modules_dir=node_modules,
                              allowed_hosts=("testserver",)))
    with TestClient(app) as client:
        html = client.get("/docs").text
        assert "cdn.jsdelivr.net" not in html
        assert '"/vendor/swagger-ui/5.0.0/swagger-ui-bundle.js"' in html.replace("'", '"')
        script = client.get("/vendor/swagger-ui/5.0.0/swagger-ui-bundle.js")
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("text/javascript")
        assert client.get("/openapi.json").status_code == 200
