"""Whole models on the GPU in the page vs numpy: predictions, lifetimes, errors, context loss.

The CNN is the default architecture, seeded and briefly trained (so predictions are not
near-uniform ties), exported with model_export.export into build/test_models/ (git-ignored;
reused by later runs) and loaded by the page over HTTP with `Runtime.load_model_url`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from model_export.architectures import MNIST_INPUT_SHAPE, cnn_layers, mlp_layers
from model_export.data import load_split
from model_export.export import export_model
from model_export.exported import load_exported
from model_export.layers import (
    Activation,
    AveragePooling2D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    LeakyReLU,
    MaxPooling2D,
)
from model_export.model import Sequential
from tests.ops.parity import assert_close

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = REPO_ROOT / "build" / "test_models"
DEFAULT_MODEL = REPO_ROOT / "models" / "default"
N_IMAGES = 2000
TRAIN_STEPS = 40


def _train_briefly(model: Sequential, steps: int, batch: int = 32) -> None:
    """A few plain SGD steps on the first MNIST training images (seeded, deterministic)."""
    train = load_split("train")
    for step in range(steps):
        rows = slice(step * batch, (step + 1) * batch)
        model.train_step_gradients(train.x[rows], train.y[rows])
        for parameter, gradient in zip(model.parameters(), model.gradients()):
            parameter -= np.float32(0.05) * gradient


def _exported(name: str, build, quantize: str | None = None) -> Path:
    folder = MODELS_DIR / name
    if not (folder / "model.json").is_file():
        export_model(build(), folder, quantize=quantize)
    return folder


def _cnn() -> Sequential:
    model = Sequential(cnn_layers(), MNIST_INPUT_SHAPE, seed=0)
    _train_briefly(model, TRAIN_STEPS)
    return model


@pytest.fixture(scope="module")
def cnn_folder() -> Path:
    return _exported(f"cnn_seed0_sgd{TRAIN_STEPS}", _cnn)


@pytest.fixture(scope="module")
def mnist_images() -> np.ndarray:
    return load_split("test").x[:N_IMAGES]


def _url(static_server, folder: Path) -> str:
    return f"{static_server.url}/{folder.relative_to(REPO_ROOT).as_posix()}"


def _load(pyodide_page, static_server, folder: Path, name: str = "MODEL") -> dict:
    """Load `folder` into the page's shared Runtime as global `name`; returns its counters."""
    return pyodide_page.run(
        "from webgl_backend.runtime import Runtime\n"
        "if 'RUNTIME' not in globals():\n"
        "    RUNTIME = Runtime(CTX)\n"
        f"{name} = await RUNTIME.load_model_url({json.dumps(_url(static_server, folder))})\n"
        "CTX.counters()"
    )


def _predict(pyodide_page, images: np.ndarray, name: str = "MODEL") -> dict:
    return pyodide_page.run(
        "import time\n"
        "_start = time.perf_counter()\n"
        f"_probs = {name}.predict(INPUTS['images'], {len(images)})\n"
        f"{{'probs': _probs, 'ms': 1000 * (time.perf_counter() - _start), "
        f"'forward': {name}.last_forward, 'max_batch': {name}.max_batch}}",
        images=images,
    )


def _compare_predictions(probs: np.ndarray, expected: np.ndarray, what: str) -> None:
    probs = probs.reshape(expected.shape)
    mismatched = np.flatnonzero(probs.argmax(1) != expected.argmax(1))
    assert mismatched.size == 0, (
        f"{what}: argmax differs on {mismatched.size} of {len(expected)} images, first at "
        f"image {mismatched[0]}: gpu {probs[mismatched[0]]} vs numpy {expected[mismatched[0]]}"
    )
    assert_close(f"{what} probabilities", probs, expected, atol=1e-4, rtol=0.0)


def test_cnn_matches_numpy_on_2000_mnist_test_images(pyodide_page, static_server, cnn_folder,
                                                     mnist_images):
    expected = load_exported(cnn_folder).predict(mnist_images)
    _load(pyodide_page, static_server, cnn_folder)
    result = _predict(pyodide_page, mnist_images)
    _compare_predictions(result["probs"], expected, f"CNN on {N_IMAGES} MNIST test images")
    chunks = -(-N_IMAGES // result["max_batch"])  # batches split to keep the row layout
    # 3 convs as four images per fragment + a gather each, the 1176->200 Dense as four rows
    # per fragment + its gather, the softmax Dense.
    assert result["forward"]["draws"] == 9 * chunks


def test_cnn_batch_1024_in_one_pass_wraps_rows_and_matches_numpy(
        pyodide_page, static_server, cnn_folder, mnist_images):
    """Without chunking, 1024 images make conv activations taller than MAX_TEXTURE_SIZE:
    they take the near-square layout whose rows wrap."""
    expected = load_exported(cnn_folder).predict(mnist_images[:1024])
    _load(pyodide_page, static_server, cnn_folder, name="BIG")
    result = pyodide_page.run(
        "BIG.max_batch = 1024\n"
        "_probs = BIG.predict(INPUTS['images'], 1024)\n"
        "_heights = [s.output.texture.height for s in BIG._plans[1024].steps]\n"
        "BIG.dispose()\n"
        "{'probs': _probs, 'forward': BIG.last_forward, 'heights': _heights,\n"
        " 'max_size': CTX.max_texture_size}",
        images=mnist_images[:1024],
    )
    _compare_predictions(result["probs"], expected, "CNN, one pass of 1024 images")
    assert result["forward"]["draws"] == 9  # each conv: four images per fragment + a gather
    # conv1's output (the gather's): 1024 * 28 rows do not fit, so the near-square layout.
    assert result["heights"][1] < 1024 * 28 and 1024 * 28 > result["max_size"]


def test_cnn_batch_1_is_five_draws_and_compiles_nothing_after_warm_up(
        pyodide_page, static_server, cnn_folder, mnist_images):
    _load(pyodide_page, static_server, cnn_folder)
    expected = load_exported(cnn_folder).predict(mnist_images[:1])
    for _ in range(3):
        result = _predict(pyodide_page, mnist_images[:1])
        _compare_predictions(result["probs"], expected, "CNN batch 1")
        assert result["forward"]["draws"] == 5
        assert result["forward"]["programs"] == 5
        assert result["forward"]["compiles"] == 0
    sources = pyodide_page.run("MODEL.generated_sources()")
    assert [s["program"] for s in sources] == ["conv2d_forward"] * 3 + ["dense_forward"] * 2
    assert all(s["source"].startswith("#version 300 es\n") for s in sources)


def test_textures_do_not_grow_over_1000_predicts_and_reloads(pyodide_page, static_server,
                                                               cnn_folder, mnist_images):
    url = json.dumps(_url(static_server, cnn_folder))
    counts = pyodide_page.run(
        "from webgl_backend.runtime import Runtime\n"
        "_runtime = Runtime(CTX)\n"
        "_baseline = CTX.live_textures\n"
        f"_model = await _runtime.load_model_url({url})\n"
        "_image = INPUTS['images']\n"
        "_model.predict(_image, 1)\n"
        "_loaded = CTX.live_textures\n"
        "for _ in range(1000):\n"
        "    _model.predict(_image, 1)\n"
        "_after_predicts = CTX.live_textures\n"
        "for _ in range(3):\n"
        f"    _model = await _runtime.load_model_url({url})\n"
        "    _model.predict(_image, 1)\n"
        "_after_reloads = CTX.live_textures\n"
        "_runtime.dispose()\n"
        "{'baseline': _baseline, 'loaded': _loaded, 'after_predicts': _after_predicts,\n"
        " 'after_reloads': _after_reloads, 'disposed': CTX.live_textures}",
        images=mnist_images[:1],
    )
    assert counts["loaded"] > counts["baseline"]
    assert counts["after_predicts"] == counts["loaded"], counts
    assert counts["after_reloads"] == counts["loaded"], counts
    assert counts["disposed"] == counts["baseline"], counts


def test_uint8_quantized_cnn_matches_numpy_on_its_dequantized_weights(
        pyodide_page, static_server, mnist_images):
    folder = _exported(f"cnn_seed0_sgd{TRAIN_STEPS}_uint8", _cnn, quantize="uint8")
    expected = load_exported(folder).predict(mnist_images[:256])
    _load(pyodide_page, static_server, folder, name="QUANTIZED")
    result = _predict(pyodide_page, mnist_images[:256], name="QUANTIZED")
    _compare_predictions(result["probs"], expected, "uint8 CNN on 256 images")
    pyodide_page.run("QUANTIZED.dispose()")


def test_mlp_with_odd_batch_matches_numpy(pyodide_page, static_server, mnist_images):
    folder = _exported("mlp_seed0", lambda: Sequential(mlp_layers(), MNIST_INPUT_SHAPE, seed=0))
    expected = load_exported(folder).predict(mnist_images[:37])
    _load(pyodide_page, static_server, folder, name="MLP")
    result = _predict(pyodide_page, mnist_images[:37], name="MLP")
    assert_close("MLP probabilities (37 images)", result["probs"], expected, atol=1e-5, rtol=1e-4)
    assert result["forward"]["draws"] == 3  # 784->512 by four rows + gather, softmax Dense
    pyodide_page.run("MLP.dispose()")


def test_every_layer_kind_in_one_model_matches_numpy(pyodide_page, static_server,
                                                     mnist_images):
    """Conv with 5 channels (Flatten must repack), pools, LeakyReLU, Activation layers."""
    def build():
        return Sequential([
            Conv2D(5, (3, 3), padding="same", activation="elu"),
            MaxPooling2D((2, 2)),
            Conv2D(8, (3, 3), strides=(2, 2), padding="valid"),
            LeakyReLU(0.2),
            AveragePooling2D((2, 2), padding="same"),
            Conv2D(5, (1, 1), activation="tanh"),
            Flatten(),
            Dense(12, activation="sigmoid"),
            Dropout(0.5),
            Dense(10),
            Activation("softmax"),
        ], MNIST_INPUT_SHAPE, seed=3)

    folder = _exported("all_layers_seed3", build)
    expected = load_exported(folder).predict(mnist_images[:33])
    _load(pyodide_page, static_server, folder, name="ALL_LAYERS")
    result = _predict(pyodide_page, mnist_images[:33], name="ALL_LAYERS")
    assert_close("all-layers model probabilities (33 images)", result["probs"], expected,
                 atol=1e-5, rtol=1e-4)
    programs = [s["program"] for s in pyodide_page.run("ALL_LAYERS.generated_sources()")]
    assert programs == ["conv2d_forward", "max_pool2d_forward", "conv2d_forward",
                        "avg_pool2d_forward", "conv2d_forward", "reshape_forward",
                        "dense_forward", "dense_forward"]
    pyodide_page.run("ALL_LAYERS.dispose()")


@pytest.mark.skipif(not (DEFAULT_MODEL / "model.json").is_file(),
                    reason="models/default/ is not exported yet (the lead trains it)")
def test_default_model_matches_numpy_on_2000_mnist_test_images(pyodide_page, static_server,
                                                                mnist_images):
    expected = load_exported(DEFAULT_MODEL).predict(mnist_images)
    _load(pyodide_page, static_server, DEFAULT_MODEL, name="DEFAULT")
    result = _predict(pyodide_page, mnist_images, name="DEFAULT")
    _compare_predictions(result["probs"], expected, f"default model on {N_IMAGES} images")
    pyodide_page.run("DEFAULT.dispose()")


def test_without_webgl2_the_error_says_so(pyodide_page):
    messages = pyodide_page.run(
        "from js import OffscreenCanvas\n"
        "from webgl_backend.context import GLContext\n"
        "from webgl_backend.errors import WebGL2UnavailableError\n"
        "_messages = []\n"
        "for _gl in (None, OffscreenCanvas.new(1, 1).getContext('webgl')):\n"
        "    try:\n"
        "        GLContext(_gl)\n"
        "    except WebGL2UnavailableError as error:\n"
        "        _messages.append(str(error))\n"
        "_messages"
    )
    assert len(messages) == 2
    assert "WebGL2 is not available: canvas.getContext('webgl2') returned null" in messages[0]
    assert "not a WebGL2RenderingContext" in messages[1]


def test_a_real_compile_error_shows_the_log_and_the_failing_line(pyodide_page):
    message = pyodide_page.run(
        "from webgl_backend.codegen import Program\n"
        "from webgl_backend.errors import ShaderCompileError\n"
        "from webgl_backend.ops.dense import dense_forward\n"
        "_good = dense_forward((1, 5), (5, 2))\n"
        "_bad = Program('dense_forward', _good.source.replace('texel.x += 1;',\n"
        "               'texel.x += undefined_step;'), _good.inputs, _good.output_shape)\n"
        "try:\n"
        "    CTX.compile(_bad)\n"
        "    _message = None\n"
        "except ShaderCompileError as error:\n"
        "    _message = str(error)\n"
        "_message"
    )
    assert message is not None, "a shader with an undeclared identifier compiled"
    assert message.startswith("dense_forward: fragment shader failed to compile")
    assert "undefined_step" in message
    marked = [line for line in message.splitlines() if line.startswith(">")]
    assert len(marked) == 1 and "undefined_step" in marked[0], message


def test_context_loss_raises_then_restore_rebuilds(pyodide_page, static_server, cnn_folder,
                                                   mnist_images):
    expected = load_exported(cnn_folder).predict(mnist_images[:3])
    url = json.dumps(_url(static_server, cnn_folder))
    result = pyodide_page.run(
        "import asyncio\n"
        "from webgl_backend.context import GLContext, create_webgl2_context\n"
        "from webgl_backend.errors import ContextLostError\n"
        "from webgl_backend.runtime import Runtime\n"
        "_gl = create_webgl2_context()\n"
        "_runtime = Runtime(_gl)\n"
        f"_model = await _runtime.load_model_url({url})\n"
        "_lose = _gl.getExtension('WEBGL_lose_context')\n"
        "_lose.loseContext()\n"
        "try:\n"
        "    _model.predict(INPUTS['images'], 3)\n"
        "    _lost_message = None\n"
        "except ContextLostError as error:\n"
        "    _lost_message = str(error)\n"
        "await asyncio.sleep(0.05)  # restoring is allowed once the 'lost' event was handled\n"
        "_lose.restoreContext()\n"
        "for _ in range(100):\n"
        "    if not _gl.isContextLost():\n"
        "        break\n"
        "    await asyncio.sleep(0.01)\n"
        "_model.restore()\n"
        "_probs = _model.predict(INPUTS['images'], 3)\n"
        "_runtime.dispose()\n"
        "{'lost': _lost_message, 'probs': _probs}",
        images=mnist_images[:3],
    )
    assert result["lost"] is not None and "WebGL context was lost" in result["lost"]
    _compare_predictions(result["probs"], expected, "CNN after context restore")
