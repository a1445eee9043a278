"""TensorFlow.js as an independent oracle for a model fine-tuned in the page.

A small seeded CNN (conv, pool, flatten, two dense layers) is exported by model_export,
loaded by the page runtime, fine-tuned there for a few dozen Adam steps
(`FineTuner.fit`), and exported by the page (`FineTuner.export()`, webgl_backend's writer).
That folder is written under `.cache/test-exports/finetuned/` (git ignores `.cache/`),
served by the static server, and loaded unchanged by TF.js 4.22 `tf.loadLayersModel` on
its CPU backend (exact float32). Its predictions must equal the page's: argmax identical,
max |probability difference| <= 1e-5.
"""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from model_export.data import load_split
from model_export.export import export_model, write_folder
from model_export.layers import Conv2D, Dense, Flatten, MaxPooling2D
from model_export.model import Sequential

pytestmark = pytest.mark.browser

EXPORT_ROOT = ".cache/test-exports/finetuned"
TFJS = "/node_modules/@tensorflow/tfjs/dist/tf.min.js"
TRAIN_IMAGES = 256
TEST_IMAGES = 128
TOLERANCE = 1e-5

_TFJS_PREDICT = """async ([url, blob, shape]) => {
    if (!(await tf.setBackend("cpu"))) throw new Error("no cpu backend");
    await tf.ready();
    const model = await tf.loadLayersModel(url);
    const bytes = Uint8Array.from(atob(blob), c => c.charCodeAt(0));
    const x = tf.tensor(new Float32Array(bytes.buffer), shape, "float32");
    const y = model.predict(x);
    const probs = await y.data();
    const result = {backend: tf.getBackend(), shape: y.shape,
                    classes: model.layers.map(layer => layer.getClassName()),
                    probs: Array.from(probs)};
    tf.dispose([x, y]);
    model.dispose();
    return result;
}"""


def small_cnn() -> Sequential:
    return Sequential([
        Conv2D(4, 3, padding="same", activation="relu"),
        MaxPooling2D(2),
        Flatten(),
        Dense(16, activation="relu"),
        Dense(10, activation="softmax"),
    ], input_shape=(28, 28, 1), seed=11)


@pytest.fixture(scope="module")
def finetuned(pyodide_page, static_server, repo_root):
    """Fine-tune in the page; write its export; return (folder url, test x, page probs, before)."""
    root = repo_root / EXPORT_ROOT
    export_model(small_cnn(), root / "base")
    (root / "blank.html").write_text("<!doctype html><title>tfjs fine-tuned oracle</title>")
    train, test = load_split("train"), load_split("test")
    x, labels = train.x[:TRAIN_IMAGES], train.y[:TRAIN_IMAGES]
    test_x = test.x[:TEST_IMAGES]
    base_url = json.dumps(f"{static_server.url}/{EXPORT_ROOT}/base")
    result = pyodide_page.run(
        "from array import array as _array\n"
        "from webgl_backend.runtime import Runtime\n"
        "from webgl_backend.training import FineTuner\n"
        "_runtime = Runtime(CTX)\n"
        f"TUNED = await _runtime.load_model_url({base_url})\n"
        "TUNED_TUNER = FineTuner(TUNED)\n"
        f"_before = TUNED.predict(INPUTS['test'], {TEST_IMAGES})\n"
        "TUNED_TUNER.configure_training(optimizer='adam', learning_rate=0.01)\n"
        f"_history = TUNED_TUNER.fit(INPUTS['x'], [int(v) for v in INPUTS['labels']], {TRAIN_IMAGES},\n"
        "                     epochs=3, batch_size=32, shuffle_seed=2)\n"
        f"_after = TUNED.predict(INPUTS['test'], {TEST_IMAGES})\n"
        "_text, _shards = TUNED_TUNER.export()\n"
        "TUNED.dispose()\n"
        "{'before': _before, 'after': _after, 'history': _history, 'json': _text,\n"
        " 'shards': {k: _array('f', v) for k, v in _shards.items()}}",
        x=x, labels=labels.astype(np.float32), test=test_x,
    )
    files = {"model.json": result["json"].encode("utf-8"),
             **{name: values.astype("<f4").tobytes() for name, values in result["shards"].items()}}
    write_folder(root / "tuned", files)
    return (f"{EXPORT_ROOT}/tuned", test_x, result["after"].reshape(-1, 10),
            result["before"].reshape(-1, 10), result["history"])


def test_tfjs_loads_the_page_export_and_predicts_what_the_page_predicted(page, static_server,
                                                                         finetuned):
    folder, test_x, ours, before, history = finetuned
    assert len(history) == 3 * TRAIN_IMAGES // 32
    assert np.mean(history[-4:]) < 0.5 * np.mean(history[:4]), f"no learning: {history}"
    assert np.abs(ours - before).max() > 0.1, "fine-tuning should change the predictions"
    page.goto(f"{static_server.url}/{EXPORT_ROOT}/blank.html")
    page.add_script_tag(url=TFJS)
    blob = base64.b64encode(np.ascontiguousarray(test_x, "<f4").tobytes()).decode("ascii")
    result = page.evaluate(_TFJS_PREDICT, [f"{static_server.url}/{folder}/model.json", blob,
                                           list(test_x.shape)])
    assert result["backend"] == "cpu"
    assert result["classes"] == ["Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense"]
    theirs = np.array(result["probs"], np.float32).reshape(result["shape"])
    assert theirs.shape == ours.shape
    difference = np.abs(ours - theirs)
    worst = np.unravel_index(difference.argmax(), difference.shape)
    print(f"max |page - tfjs| {difference.max():.3g} over {ours.shape}")
    flips = np.flatnonzero(ours.argmax(1) != theirs.argmax(1))
    assert flips.size == 0, f"argmax differs for images {flips[:10].tolist()}"
    assert difference.max() <= TOLERANCE, (
        f"max |page - tfjs| {difference.max():.3g} at {worst}: page {ours[worst]!r}, "
        f"tfjs {theirs[worst]!r}")
