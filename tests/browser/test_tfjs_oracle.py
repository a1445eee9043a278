"""TensorFlow.js as an independent oracle for our exported files.

A seeded CNN with every layer kind, trained for a few dozen steps so its predictions are
confident, is exported (float32, float16, uint8) into `.cache/test-exports/tfjs-oracle/`
(git ignores `.cache/`). Headless Chromium loads each folder with `tf.loadLayersModel`,
unchanged, and predicts 256 MNIST test images sent in one base64 float32 blob. TF.js must
agree with numpy: argmax identical, max |probability difference| <= 1e-5 on the CPU backend
(exact float32). Quantized exports are compared with numpy running our reader's dequantized
weights, which are bit-identical to what TF.js decodes.
"""

from __future__ import annotations

import base64

import numpy as np
import pytest

from model_export.data import load_split
from model_export.export import export_model
from model_export.exported import load_exported
from model_export.layers import (
    Activation, AveragePooling2D, Conv2D, Dense, Dropout, Flatten, LeakyReLU, MaxPooling2D,
)
from model_export.model import Sequential
from model_export.nn.optimizers import get_optimizer

pytestmark = pytest.mark.browser

EXPORT_ROOT = ".cache/test-exports/tfjs-oracle"
TFJS = "/node_modules/@tensorflow/tfjs/dist/tf.min.js"
N_IMAGES = 256
TOLERANCE = 1e-5


def every_kind_cnn() -> Sequential:
    return Sequential([
        Conv2D(6, 5, padding="same", activation="relu"),
        MaxPooling2D(2),
        Conv2D(8, 3, strides=2, padding="valid", activation="elu"),
        LeakyReLU(alpha=0.2),
        AveragePooling2D(2, padding="same"),
        Flatten(),
        Dense(32, activation="tanh"),
        Dropout(0.2),
        Dense(16, activation="sigmoid"),
        Dense(10),
        Activation("softmax"),
    ], input_shape=(28, 28, 1), seed=7)


def briefly_trained(model: Sequential, steps: int = 40, batch: int = 64) -> Sequential:
    """A few Adam steps on MNIST: confident outputs make argmax a sharp test."""
    train = load_split("train")
    optimizer = get_optimizer("adam", learning_rate=0.01)
    for step in range(steps):
        start = step * batch
        model.train_step_gradients(train.x[start:start + batch], train.y[start:start + batch])
        optimizer.apply(model.parameters(), model.gradients())
    return model


@pytest.fixture(scope="module")
def oracle_case(repo_root):
    """Exports of one trained model and the test images, written once per module."""
    model = briefly_trained(every_kind_cnn())
    root = repo_root / EXPORT_ROOT
    folders = {kind: export_model(model, root / kind, quantize=None if kind == "float32" else kind)
               for kind in ("float32", "float16", "uint8")}
    (root / "blank.html").write_text("<!doctype html><title>tfjs oracle</title>")
    test = load_split("test")
    return model, folders, test.x[:N_IMAGES], test.y[:N_IMAGES]


def tfjs_predict(page, static_server, folder_url: str, x: np.ndarray, backend: str) -> np.ndarray:
    page.goto(f"{static_server.url}/{EXPORT_ROOT}/blank.html")
    page.add_script_tag(url=TFJS)
    blob = base64.b64encode(np.ascontiguousarray(x, "<f4").tobytes()).decode("ascii")
    result = page.evaluate(
        """async ([url, blob, shape, backend]) => {
            if (!(await tf.setBackend(backend))) throw new Error(`no ${backend} backend`);
            await tf.ready();
            const model = await tf.loadLayersModel(url);
            const bytes = Uint8Array.from(atob(blob), c => c.charCodeAt(0));
            const x = tf.tensor(new Float32Array(bytes.buffer), shape, "float32");
            const y = model.predict(x);
            const probs = await y.data();
            tf.dispose([x, y]);
            model.dispose();
            let text = "";
            const out = new Uint8Array(probs.buffer, probs.byteOffset, probs.byteLength);
            for (let i = 0; i < out.length; i += 8192) {
                text += String.fromCharCode.apply(null, out.subarray(i, i + 8192));
            }
            return {backend: tf.getBackend(), probs: btoa(text), shape: y.shape};
        }""",
        [f"{static_server.url}/{folder_url}/model.json", blob, list(x.shape), backend],
    )
    assert result["backend"] == backend
    probs = np.frombuffer(base64.b64decode(result["probs"]), "<f4")
    return probs.reshape(result["shape"])


def assert_agrees(ours: np.ndarray, theirs: np.ndarray, tolerance: float) -> None:
    assert theirs.shape == ours.shape
    print(f"max |numpy - tfjs| {np.abs(ours - theirs).max():.3g} over {ours.shape}")
    flips = np.flatnonzero(ours.argmax(1) != theirs.argmax(1))
    assert flips.size == 0, f"argmax differs for images {flips[:10].tolist()}"
    worst = np.unravel_index(np.abs(ours - theirs).argmax(), ours.shape)
    assert np.abs(ours - theirs).max() <= tolerance, (
        f"max |numpy - tfjs| {np.abs(ours - theirs).max():.3g} at {worst}: "
        f"numpy {ours[worst]!r}, tfjs {theirs[worst]!r}")


def test_tfjs_cpu_loads_our_float32_export_and_predicts_like_numpy(page, static_server,
                                                                   oracle_case):
    model, _, x, labels = oracle_case
    ours = model.predict(x)
    assert np.mean(ours.argmax(1) == labels) > 0.6, "the briefly trained model should be useful"
    theirs = tfjs_predict(page, static_server, f"{EXPORT_ROOT}/float32", x, "cpu")
    assert_agrees(ours, theirs, TOLERANCE)


@pytest.mark.parametrize("kind", ["float16", "uint8"])
def test_tfjs_cpu_loads_quantized_exports_like_our_reader(kind, page, static_server,
                                                         oracle_case):
    model, folders, x, _ = oracle_case
    ours = load_exported(folders[kind]).predict(x)  # our reader's dequantized weights
    theirs = tfjs_predict(page, static_server, f"{EXPORT_ROOT}/{kind}", x, "cpu")
    assert_agrees(ours, theirs, TOLERANCE)
    assert np.abs(ours - model.predict(x)).max() > 0, "quantization should change something"


def test_tfjs_webgl_loads_our_float32_export(page, static_server, oracle_case):
    model, _, x, _ = oracle_case
    theirs = tfjs_predict(page, static_server, f"{EXPORT_ROOT}/float32", x[:64], "webgl")
    assert_agrees(model.predict(x[:64]), theirs, 1e-4)  # GPU float32: reassociated sums


@pytest.mark.parametrize("backend,count,tolerance", [("cpu", N_IMAGES, TOLERANCE),
                                                     ("webgl", 64, 1e-4)])
def test_tfjs_loads_the_shipped_default_model(backend, count, tolerance, page, static_server,
                                              repo_root):
    folder = repo_root / "models" / "default"
    if not (folder / "model.json").is_file():
        pytest.skip("models/default/ is not in the repository yet")
    x = load_split("test").x[:count]
    ours = load_exported(folder).predict(x)
    theirs = tfjs_predict(page, static_server, "models/default", x, backend)
    assert_agrees(ours, theirs, tolerance)


TFJS_SAVES_A_MODEL = """async ([xBlob, shape]) => {
    await tf.setBackend("cpu");
    const model = tf.sequential({layers: [
        tf.layers.conv2d({inputShape: shape.slice(1), filters: 4, kernelSize: 3,
                          padding: "same", activation: "relu"}),
        tf.layers.maxPooling2d({poolSize: 2}),
        tf.layers.conv2d({filters: 6, kernelSize: [2, 3], strides: 2, activation: "elu"}),
        tf.layers.leakyReLU({alpha: 0.2}),
        tf.layers.averagePooling2d({poolSize: 2, strides: 1, padding: "same"}),
        tf.layers.flatten(),
        tf.layers.dense({units: 12, activation: "tanh"}),
        tf.layers.dropout({rate: 0.25}),
        tf.layers.dense({units: 10, useBias: false, activation: "sigmoid"}),
        tf.layers.dense({units: 10}),
        tf.layers.activation({activation: "softmax"}),
    ]});
    // Random biases, so the bias bytes are checked too.
    for (const layer of model.layers) {
        const [kernel, bias] = layer.getWeights();
        if (bias) layer.setWeights([kernel, tf.randomNormal(bias.shape, 0, 0.5, "float32", 3)]);
    }
    let saved;
    await model.save(tf.io.withSaveHandler(async artifacts => {
        saved = artifacts;
        return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: "JSON"}};
    }));
    const bytes = Uint8Array.from(atob(xBlob), c => c.charCodeAt(0));
    const x = tf.tensor(new Float32Array(bytes.buffer), shape, "float32");
    const probs = Array.from(await model.predict(x).data());
    const weights = new Uint8Array(saved.weightData);
    let text = "";
    for (let i = 0; i < weights.length; i += 8192) {
        text += String.fromCharCode.apply(null, weights.subarray(i, i + 8192));
    }
    return {
        modelJson: {format: saved.format, generatedBy: saved.generatedBy,
                    convertedBy: saved.convertedBy, modelTopology: saved.modelTopology,
                    weightsManifest: [{paths: ["weights.bin"], weights: saved.weightSpecs}]},
        weights: btoa(text), probs,
    };
}"""


def test_our_reader_accepts_a_model_tfjs_itself_saved(page, static_server):
    """The other direction: tfjs-layers writes a model; we read it and predict the same."""
    from model_export.exported import sequential_from_artifacts
    from webgl_backend.model_format import read_model

    x = np.random.default_rng(5).random((16, 12, 12, 1), dtype=np.float32)
    page.goto(f"{static_server.url}/{EXPORT_ROOT}/blank.html")
    page.add_script_tag(url=TFJS)
    blob = base64.b64encode(x.astype("<f4").tobytes()).decode("ascii")
    saved = page.evaluate(TFJS_SAVES_A_MODEL, [blob, list(x.shape)])
    artifacts = read_model(saved["modelJson"], {"weights.bin": base64.b64decode(saved["weights"])})
    classes = [spec.class_name for spec in artifacts.layers]
    assert classes[:3] == ["Conv2D", "MaxPooling2D", "Conv2D"]
    ours = sequential_from_artifacts(artifacts).predict(x)
    assert_agrees(ours, np.array(saved["probs"], np.float32).reshape(ours.shape), TOLERANCE)
