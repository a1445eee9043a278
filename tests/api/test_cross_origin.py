"""The public module used from another origin: examples/index.html on a plain static
server (one port) imports shadernet.mjs from our server (another port, started with that
origin in `cors_origins`); the module starts its worker through a blob: of the page's
origin, and Pyodide, the runtime wheel and the model all come from our server with CORS.
Without `cors_origins` our server grants no other origin anything."""

from __future__ import annotations

import shutil

import httpx
import numpy as np
import pytest

from model_export.data import load_split
from model_export.exported import load_exported
from server.settings import Settings
from tests.api.test_public_module import _DECODE, EXAMPLE, LOAD_TIMEOUT_MS, b64, stroke_one
from tests.support.live_server import live_server

IMAGES = 16


def app_with(root, **settings):
    from server.main import create_app  # noqa: PLC0415 - the [serve] extra

    if not (root / "models" / "default").is_dir():
        shutil.copytree(Settings().models_dir / "default", root / "models" / "default")
    return create_app(Settings(models_dir=root / "models", store_dir=root / "store",
                               cache_dir=root / "cache", **settings))


@pytest.fixture(scope="module")
def page_origin():
    return "http://127.0.0.1:9"  # any origin that is not the server's own


def test_reads_from_a_cors_origin_get_cors_headers_and_nothing_else_does(tmp_path, page_origin):
    with live_server(app_with(tmp_path, cors_origins=(page_origin + "/",))) as url:
        allowed = httpx.get(f"{url}/static/shadernet.mjs", headers={"Origin": page_origin})
        other = httpx.get(f"{url}/static/shadernet.mjs", headers={"Origin": "http://evil.example"})
        same = httpx.get(f"{url}/api/runtime")
        write = httpx.post(f"{url}/api/models/default/versions", headers={"Origin": page_origin})
    assert allowed.headers["access-control-allow-origin"] == page_origin
    assert allowed.headers["cross-origin-resource-policy"] == "cross-origin"
    assert "Origin" in allowed.headers["vary"]
    for response in (other, same, write):
        assert "access-control-allow-origin" not in response.headers
    assert other.headers["cross-origin-resource-policy"] == "same-origin"
    assert write.status_code == 403  # a write from another origin stays refused


def test_no_cors_origins_by_default(tmp_path, page_origin):
    with live_server(app_with(tmp_path)) as url:
        response = httpx.get(f"{url}/static/worker.js", headers={"Origin": page_origin})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_a_cors_origin_must_be_an_origin():
    with pytest.raises(ValueError, match=r"cors_origins.*Received 'https://a\.example/page'"):
        Settings(cors_origins=("https://a.example/page",))
    assert Settings(cors_origins=("HTTPS://A.example/", "*")).cors_origins == (
        "https://a.example", "*")


@pytest.mark.browser
def test_the_example_page_on_another_origin_predicts_with_our_server(
        browser, static_server, tmp_path, repo_root):
    x = load_split("test").x[:IMAGES]
    numpy_model = load_exported(repo_root / "models" / "default")
    with live_server(app_with(tmp_path, cors_origins=(static_server.url,))) as server:
        assert server != static_server.url
        context = browser.new_context()
        try:
            page = context.new_page()
            page.set_default_timeout(LOAD_TIMEOUT_MS)
            requested = []
            page.on("request", lambda r: requested.append(r.url))
            page.goto(f"{static_server.url}/{EXAMPLE}?server={server}")
            page.wait_for_function(
                "!document.getElementById('out').textContent.startsWith('Loading')")
            shown = page.inner_text("#out")
            probabilities = page.evaluate(f"""async ([images, n]) => {{ {_DECODE}
                return Array.from(await window.model.predict(floats(images), n)); }}""",
                                          [b64(x), IMAGES])
            worker_urls = [worker.url for worker in page.workers]
        finally:
            context.close()
    expected = numpy_model.predict(stroke_one())[0]
    digit = int(expected.argmax())
    assert shown == f"Predicted digit {digit} (probability {expected[digit]:.3f})", shown
    ours = np.array(probabilities, np.float32).reshape(-1, 10)
    assert (ours.argmax(1) == numpy_model.predict(x).argmax(1)).all()
    assert worker_urls and all(url.startswith("blob:" + static_server.url) for url in worker_urls)
    from_server = [url for url in requested if url.startswith(server)]
    assert any("/static/worker.js" in url for url in from_server), requested
    assert any(url.endswith(".whl") for url in from_server), requested
    assert not [url for url in requested if url.startswith(static_server.url + "/node_modules")]
