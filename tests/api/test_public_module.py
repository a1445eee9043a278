"""The public JS module (static/shadernet.mjs) from a page we did not build for it:
examples/index.html, served by a plain static server (not our FastAPI app).

The page loads the shipped default model through `loadModel`; its predictions are checked
against model_export's numpy forward pass, a fine-tuned export against TF.js 4.22 (CPU
backend) loading the Files `export()` returns, and the errors against their documented
`code`s: a missing file, a model.json the reader refuses (its own message), a browser
without WebGL2 (Chromium without GPU and software rasterizer).
"""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from model_export.data import load_split
from model_export.exported import load_exported
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, REPO_ROOT
from webgl_backend.errors import ModelFormatError
from webgl_backend.model_format import read_model
from webgl_backend.wheel import build_runtime_wheel

pytestmark = pytest.mark.browser

EXAMPLE = "examples/index.html"
MODULE = "/static/shadernet.mjs"
TFJS = "/node_modules/@tensorflow/tfjs/dist/tf.min.js"
BAD_MODELS = ".cache/test-api"
LOAD_TIMEOUT_MS = 240_000
TEST_IMAGES = 100
NO_WEBGL_ARGS = ["--disable-gpu", "--disable-software-rasterizer"]


def b64(values: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(values, "<f4").tobytes()).decode("ascii")


_DECODE = "const floats = (text) => new Float32Array(Uint8Array.from(atob(text), (c) => c.charCodeAt(0)).buffer);"

_PREDICT = f"""async ([images, n]) => {{ {_DECODE}
    return Array.from(await window.model.predict(floats(images), n)); }}"""

_FIT_EXPORT_TFJS = f"""async ([images, labels, n, test, testN]) => {{ {_DECODE}
    const progress = [];
    const history = await window.model.fit(floats(images), labels, n,
        {{ optimizer: "adam", lr: 0.005, epochs: 2, batchSize: 32,
           onProgress: (step) => progress.push(step.step) }});
    const ours = Array.from(await window.model.predict(floats(test), testN));
    const {{ modelJson, weights }} = await window.model.export();
    if (!(await tf.setBackend("cpu"))) throw new Error("no cpu backend");
    const loaded = await tf.loadLayersModel(tf.io.browserFiles([modelJson, ...weights]));
    const x = tf.tensor(floats(test), [testN, 28, 28, 1]);
    const theirs = Array.from(await loaded.predict(x).data());
    return {{ history, progress, ours, theirs, names: [modelJson.name, ...weights.map((w) => w.name)],
             classes: loaded.layers.map((layer) => layer.getClassName()) }};
}}"""

_LOAD_ERROR = f"""async ([url, options]) => {{
    const {{ loadModel, ShadernetError }} = await import("{MODULE}");
    try {{ await loadModel(url, options); }} catch (error) {{
        return {{ name: error.name, code: error.code, message: error.message,
                 shadernet: error instanceof ShadernetError, isError: error instanceof Error }};
    }}
    return null;
}}"""


# Where examples/index.html finds them (README: python -m webgl_backend.wheel build/wheels).
RUNTIME = {"pyodideUrl": "../node_modules/pyodide/",
           "wheelUrl": "../build/wheels/shadernet_runtime-0.1.0-py3-none-any.whl"}


def build_wheel() -> None:
    build_runtime_wheel(REPO_ROOT / "build" / "wheels")


def open_example(browser, static_server):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(LOAD_TIMEOUT_MS)
    page.goto(f"{static_server.url}/{EXAMPLE}")
    page.wait_for_function("!document.getElementById('out').textContent.startsWith('Loading')")
    return context, page


@pytest.fixture(scope="module")
def example(browser, static_server):
    build_wheel()
    context, page = open_example(browser, static_server)
    yield page
    context.close()


@pytest.fixture(scope="module")
def numpy_model(repo_root):
    return load_exported(repo_root / "models" / "default")


def stroke_one() -> np.ndarray:
    """The image examples/index.html draws: two columns, rows 4..23."""
    image = np.zeros((1, 28, 28, 1), np.float32)
    image[0, 4:24, 13:15, 0] = 1.0
    return image


def test_example_page_shows_the_digit_numpy_predicts(example, numpy_model):
    probabilities = numpy_model.predict(stroke_one())[0]
    digit = int(probabilities.argmax())
    assert example.inner_text("#out") == (
        f"Predicted digit {digit} (probability {probabilities[digit]:.3f})")


def test_predictions_on_mnist_have_numpy_argmax(example, numpy_model):
    test = load_split("test")
    x = test.x[:TEST_IMAGES]
    ours = np.array(example.evaluate(_PREDICT, [b64(x), TEST_IMAGES]), np.float32).reshape(-1, 10)
    theirs = numpy_model.predict(x)
    flips = np.flatnonzero(ours.argmax(1) != theirs.argmax(1))
    assert flips.size == 0, f"argmax differs from numpy for test images {flips.tolist()}"
    assert np.abs(ours - theirs).max() < 1e-3


def test_info_reports_layers_draws_gl_calls_and_glsl(example):
    info = example.evaluate("() => window.model.info()")
    assert [layer["class_name"] for layer in info["layers"]] == [
        "Conv2D", "Conv2D", "Conv2D", "Flatten", "Dense", "Dropout", "Dense"]
    assert info["input_shape"] == [28, 28, 1] and info["output_shape"] == [10]
    assert info["forward"]["draws"] > 0 and info["forward"]["gl_calls"] > info["forward"]["draws"]
    assert info["sources"] and all(s["source"].startswith("#version 300 es")
                                   for s in info["sources"])


def test_fine_tuned_export_loads_in_tfjs_with_the_same_predictions(example):
    train, test = load_split("train"), load_split("test")
    x, labels = train.x[:64], [int(label) for label in train.y[:64]]
    test_x = test.x[:32]
    example.add_script_tag(url=TFJS)
    result = example.evaluate(_FIT_EXPORT_TFJS, [b64(x), labels, 64, b64(test_x), 32])
    assert result["history"]["steps"] == 4 and result["progress"] == [1, 2, 3, 4]
    assert all(np.isfinite(result["history"]["losses"]))
    assert result["names"] == ["model.json", "group1-shard1of1.bin"]
    assert result["classes"] == ["Conv2D", "Conv2D", "Conv2D", "Flatten", "Dense", "Dropout",
                                 "Dense"]
    ours = np.array(result["ours"], np.float32).reshape(-1, 10)
    theirs = np.array(result["theirs"], np.float32).reshape(-1, 10)
    assert (ours.argmax(1) == theirs.argmax(1)).all()
    assert np.abs(ours - theirs).max() < 1e-4


def test_every_model_shares_one_worker_and_a_disposed_one_refuses(example):
    result = example.evaluate(f"""async () => {{
        const {{ loadModel }} = await import("{MODULE}");
        const second = await loadModel("../models/default/model.json");
        const ones = await second.predict(new Float32Array(784), 1);
        await second.dispose();
        try {{ await second.predict(new Float32Array(784), 1); }}
        catch (error) {{ return {{ n: ones.length, code: error.code, message: error.message }}; }}
    }}""")
    assert result == {"n": 10, "code": "argument", "message": result["message"]}
    assert "disposed" in result["message"]
    assert len(example.workers) == 1


def test_a_missing_model_rejects_with_fetch(example):
    error = example.evaluate(_LOAD_ERROR, ["../models/nowhere/model.json", {}])
    assert error["code"] == "fetch" and error["name"] == "FetchError"
    assert error["shadernet"] and error["isError"]
    assert "HTTP 404" in error["message"] and "models/nowhere/model.json" in error["message"]


def test_a_malformed_model_rejects_with_the_readers_message(example, repo_root):
    folder = repo_root / BAD_MODELS / "lstm"
    folder.mkdir(parents=True, exist_ok=True)
    document = json.loads((repo_root / "models/default/model.json").read_text())
    document["modelTopology"]["config"]["layers"][1]["class_name"] = "LSTM"
    text = json.dumps(document)
    (folder / "model.json").write_text(text)
    shard = (repo_root / "models/default/group1-shard1of1.bin").read_bytes()
    (folder / "group1-shard1of1.bin").write_bytes(shard)
    with pytest.raises(ModelFormatError) as refused:
        read_model(text, {"group1-shard1of1.bin": shard})
    error = example.evaluate(_LOAD_ERROR, [f"/{BAD_MODELS}/lstm/model.json", {}])
    assert error["code"] == "model-format" and error["name"] == "ModelFormatError"
    assert str(refused.value) in error["message"]


def test_without_webgl2_the_example_says_webgl2_unavailable(browser, static_server):
    build_wheel()
    without_gpu = browser.browser_type.launch(executable_path=CHROMIUM,
                                              args=CHROMIUM_ARGS + NO_WEBGL_ARGS)
    try:
        _, page = open_example(without_gpu, static_server)
        shown = page.inner_text("#out")
        error = page.evaluate(_LOAD_ERROR, ["../models/default/model.json", RUNTIME])
    finally:
        without_gpu.close()
    assert shown.startswith("webgl2-unavailable: WebGL2 is not available: OffscreenCanvas"), shown
    assert "returned null" in error["message"]
    assert error["code"] == "webgl2-unavailable" and error["name"] == "WebGLUnavailableError"


def test_an_unknown_fit_option_is_an_argument_error_naming_it(example):
    error = example.evaluate("""async () => {
        try { await window.model.fit(new Float32Array(784), [1], 1, { epochz: 2 }); }
        catch (error) { return { name: error.name, code: error.code, message: error.message }; }
    }""")
    assert error["code"] == "argument" and error["name"] == "ArgumentError"
    assert "epochz" in error["message"] and "epochs" in error["message"]
