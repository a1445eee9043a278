"""The public module as our server serves it: a page of the server's origin imports
/static/shadernet.mjs and calls loadModel with no options; the module finds Pyodide and the
content-hashed runtime wheel through GET /api/runtime and predicts like numpy."""

from __future__ import annotations


import numpy as np
import pytest

from model_export.data import load_split
from model_export.exported import load_exported
from tests.api.test_public_module import _DECODE, b64
from tests.support.live_server import app_serving, live_server

pytestmark = pytest.mark.browser

IMAGES = 16


@pytest.fixture(scope="module")
def served(tmp_path_factory, repo_root):
    root = tmp_path_factory.mktemp("served-module")
    with live_server(app_serving(repo_root / "models" / "default", root)) as url:
        yield url


def test_load_model_without_options_on_our_server(browser, served, repo_root):
    x = load_split("test").x[:IMAGES]
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(240_000)
        page.goto(f"{served}/api/config")  # any document of the server's origin
        probabilities = page.evaluate(f"""async ([images, n]) => {{ {_DECODE}
            const {{ loadModel }} = await import("/static/shadernet.mjs");
            const model = await loadModel("/api/models/default/versions/shipped/model.json");
            return Array.from(await model.predict(floats(images), n)); }}""", [b64(x), IMAGES])
    finally:
        context.close()
    ours = np.array(probabilities, np.float32).reshape(-1, 10)
    theirs = load_exported(repo_root / "models" / "default").predict(x)
    assert (ours.argmax(1) == theirs.argmax(1)).all()
