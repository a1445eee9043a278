"""Server test fixtures: one app per module on temporary folders, tiny exported models.

`models/` holds two shipped models, `default` (784-8-10 MLP) and `wide` (784-16-10); saved
versions go to a temporary store. The upload limit is set low (200 kB) so an oversized
upload is still a small file. Uploads are built with the real exporter.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import pytest

from model_export.export import export_model
from model_export.layers import Dense, Flatten
from model_export.model import Sequential
from server.main import create_app
from server.settings import REPO_ROOT, Settings
from tests.support.live_server import live_server as serve_live

with warnings.catch_warnings():  # starlette nags about httpx vs httpx2; irrelevant here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

UPLOAD_LIMIT = 200_000
# TestClient sends "Host: testserver"; the crowd test sends 20 writes at once.
TEST_ACCESS = {"allowed_hosts": ("127.0.0.1", "localhost", "testserver"), "writes_per_minute": 10_000}
NODE_MODULES = REPO_ROOT / "node_modules"


def mlp(units: int = 8, seed: int = 0) -> Sequential:
    """784 -> units (relu) -> 10 (softmax): 6,370 parameters at units=8, about 25 kB."""
    return Sequential([Flatten(), Dense(units, activation="relu"), Dense(10, activation="softmax")],
                      input_shape=(28, 28, 1), seed=seed)


def model_files(model: Sequential, folder: Path,
                **export_options) -> tuple[bytes, dict[str, bytes]]:
    """Export `model` into `folder`; return (model.json bytes, {shard name: bytes})."""
    export_model(model, folder, **export_options)
    model_json = (folder / "model.json").read_bytes()
    paths = [p for group in json.loads(model_json)["weightsManifest"] for p in group["paths"]]
    return model_json, {p: (folder / p).read_bytes() for p in paths}


def upload(client, name: str, model_json: bytes | None, shards: dict[str, bytes] | list,
           base: str | None = None):
    """POST a multipart upload; `shards` may be a list of (filename, bytes) to send duplicates."""
    items = shards.items() if isinstance(shards, dict) else shards
    files = [("shards", (filename, data, "application/octet-stream")) for filename, data in items]
    if model_json is not None:
        files.insert(0, ("model_json", ("model.json", model_json, "application/json")))
    data = {} if base is None else {"base": base}
    return client.post(f"/api/models/{name}/versions", files=files, data=data)


def snapshot(*folders: Path) -> dict[str, str]:
    """Every path under `folders` (folders too, so an empty one shows) -> content hash."""
    state = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            key = str(path)
            state[key] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return state


@pytest.fixture(scope="module")
def server_dirs(tmp_path_factory) -> dict[str, Path]:
    if not (NODE_MODULES / "pyodide" / "pyodide.asm.wasm").is_file():
        pytest.skip("node_modules/ is missing: run `make setup` (npm install)")
    root = tmp_path_factory.mktemp("server")
    dirs = {"root": root, "models": root / "models", "store": root / "store",
            "cache": root / "cache", "static": root / "static", "exports": root / "exports"}
    export_model(mlp(8, seed=0), dirs["models"] / "default")
    export_model(mlp(16, seed=0), dirs["models"] / "wide")
    dirs["static"].mkdir()
    (dirs["static"] / "app.js").write_text("console.log('hello');\n")
    return dirs


@pytest.fixture(scope="module")
def settings(server_dirs) -> Settings:
    return Settings(models_dir=server_dirs["models"], store_dir=server_dirs["store"],
                    cache_dir=server_dirs["cache"], static_dir=server_dirs["static"],
                    node_modules_dir=NODE_MODULES, max_upload_bytes=UPLOAD_LIMIT, **TEST_ACCESS)


@pytest.fixture(scope="module")
def app(settings):
    return create_app(settings)


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def exports(server_dirs):
    """files(units, seed, **options) -> (model.json, shards), each export in its own folder."""
    counter = iter(range(10**6))

    def files(units: int = 8, seed: int = 1, **options):
        folder = server_dirs["exports"] / f"m{next(counter)}"
        return model_files(mlp(units, seed), folder, **options)
    return files


def json_detail(response) -> str:
    """The `detail` sentence of an error answer, checking the body is exactly {"detail": str}."""
    body = response.json()
    assert set(body) == {"detail"} and isinstance(body["detail"], str), body
    return body["detail"]


@pytest.fixture
def unchanged(server_dirs):
    """Assert, after the test, that nothing under the store or models/ changed."""
    before = snapshot(server_dirs["store"], server_dirs["models"])
    yield
    assert snapshot(server_dirs["store"], server_dirs["models"]) == before


@pytest.fixture(scope="module")
def http(live_server):
    """An httpx client on the live server."""
    import httpx

    with httpx.Client(base_url=live_server, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def live_server(app):
    """The app under a real uvicorn on 127.0.0.1 at an ephemeral port; yields its base URL."""
    with serve_live(app) as url:
        yield url
