"""Fine-tuning in the page (webgl_backend.training) vs numpy: one full step of the default CNN
(SGD and Adam), bounded memory over 1,000 steps, really learning a new digit with replay,
and the exported folder predicting in our reader what the page predicted.

Models are exported with model_export into build/test_models/ (git-ignored, reused by
later runs) and loaded by the page over HTTP, as the product does.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from model_export.architectures import MNIST_INPUT_SHAPE, cnn_layers
from model_export.data import load_split
from model_export.export import export_model
from model_export.exported import load_exported, sequential_from_artifacts
from model_export.layers import Dense, Dropout, Flatten
from model_export.model import Sequential
from model_export.nn import optimizers as opt
from tests.ops.parity import assert_close
from webgl_backend.model_format import read_model

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = REPO_ROOT / "build" / "test_models"


def _url(static_server, folder: Path) -> str:
    return f"{static_server.url}/{folder.relative_to(REPO_ROOT).as_posix()}"


def _load(pyodide_page, static_server, folder: Path, name: str) -> None:
    pyodide_page.run(
        "from webgl_backend.runtime import Runtime\n"
        "from webgl_backend.training import FineTuner\n"
        "if 'TRAIN_RUNTIME' not in globals():\n"
        "    TRAIN_RUNTIME = Runtime(CTX)\n"
        f"{name} = await TRAIN_RUNTIME.load_model_url("
        f"{json.dumps(_url(static_server, folder))})\n"
        f"{name}_TUNER = FineTuner({name})\n"
    )


def _exported(name: str, build) -> Path:
    folder = MODELS_DIR / name
    if not (folder / "model.json").is_file():
        export_model(build(), folder)
    return folder


def _page_weights(pyodide_page, name: str) -> tuple[dict, dict]:
    """Export in the page; returns (model.json dict, {shard name: bytes})."""
    result = pyodide_page.run(
        "from array import array as _array\n"
        f"_text, _shards = {name}_TUNER.export()\n"
        "{'json': _text, 'shards': {k: _array('f', v) for k, v in _shards.items()}}"
    )
    return json.loads(result["json"]), {k: v.tobytes() for k, v in result["shards"].items()}


# -- one full step of the default CNN ---------------------------------------------------

@pytest.fixture(scope="module")
def cnn_folder() -> Path:
    return _exported("cnn_seed3_untrained",
                     lambda: Sequential(cnn_layers(), MNIST_INPUT_SHAPE, seed=3))


@pytest.mark.parametrize("optimizer,learning_rate", [("sgd", 0.1), ("adam", 1e-4)])
def test_one_cnn_step_matches_numpy(pyodide_page, static_server, cnn_folder, optimizer,
                                    learning_rate):
    test = load_split("test")
    x, labels = test.x[:16], test.y[:16]
    reference = load_exported(cnn_folder)
    for layer in reference.layers:
        if isinstance(layer, Dropout):
            layer.rate = 0.0  # fine-tuning treats Dropout as the identity
    loss, _ = reference.train_step_gradients(x, labels)
    numpy_optimizer = opt.get_optimizer(optimizer, learning_rate=learning_rate)
    numpy_optimizer.apply(reference.parameters(), reference.gradients())

    _load(pyodide_page, static_server, cnn_folder, "CNN_STEP")
    result = pyodide_page.run(
        f"CNN_STEP_TUNER.configure_training(optimizer={optimizer!r}, "
        f"learning_rate={learning_rate})\n"
        "_loss = CNN_STEP_TUNER.fit_batch(INPUTS['x'], [int(v) for v in INPUTS['labels']], 16)\n"
        "{'loss': _loss, 'step': CNN_STEP_TUNER.last_step}",
        x=x, labels=labels.astype(np.float32),
    )
    assert abs(result["loss"] - loss) <= 1e-4 * max(1.0, abs(loss)), (result["loss"], loss)
    model_json, shards = _page_weights(pyodide_page, "CNN_STEP")
    stepped = read_model(model_json, shards)
    got = {name: np.asarray(values).reshape(shape)
           for spec in stepped.layers for name, shape, values in spec.weights}
    for name, expected in reference.get_weights():
        assert_close(f"{optimizer} step: weight {name}", got[name], expected, atol=1e-4, rtol=1e-4)
    before = dict(load_exported(cnn_folder).get_weights())
    changed = [name for name, w in reference.get_weights() if not np.array_equal(w, before[name])]
    assert len(changed) == 10, f"every weight must move in one step, moved: {changed}"
    # forward 10 (on 16 images each conv draws four images per fragment + a gather, each
    # Dense four rows per fragment + a gather) + loss 2 + per conv/dense: kernel and bias
    # grads, each dkernel but conv1's (one input channel) grouped + a gather (9 + 5), dx
    # for all but the first grouped + a gather (8), dz once for the ReLU under the Flatten
    # (the other three ReLUs' dz are taken in the gather of the dx above them) + one update
    # pass per weight (writing it and its optimizer state at once).
    assert result["step"]["draws"] == 10 + 2 + 9 + 5 + 8 + 1 + 10, result["step"]
    pyodide_page.run("CNN_STEP.dispose()")


# -- memory and API edges ----------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_folder() -> Path:
    return _exported("mlp_tiny_seed0", lambda: Sequential(
        [Flatten(), Dense(16, activation="relu"), Dense(10, activation="softmax")],
        MNIST_INPUT_SHAPE, seed=0))


def test_1000_steps_grow_no_textures_and_reset_restores_the_loaded_weights(
        pyodide_page, static_server, tiny_folder):
    images = load_split("test").x[:4]
    _load(pyodide_page, static_server, tiny_folder, "TINY")
    counts = pyodide_page.run(
        "_labels = [1, 7, 2, 9]\n"
        "_before = TINY.predict(INPUTS['x'], 4)\n"
        "TINY_TUNER.configure_training(optimizer='adam', learning_rate=0.01, l2=0.001)\n"
        "TINY_TUNER.fit_batch(INPUTS['x'], _labels, 4)\n"
        "TINY.predict(INPUTS['x'], 4)\n"
        "_first = CTX.live_textures\n"
        "_losses = [TINY_TUNER.fit_batch(INPUTS['x'], _labels, 4) for _ in range(1000)]\n"
        "_trained = TINY.predict(INPUTS['x'], 4)\n"
        "_after = CTX.live_textures\n"
        "TINY_TUNER.reset()\n"
        "_reset = TINY.predict(INPUTS['x'], 4)\n"
        "TINY_TUNER.configure_training(optimizer='momentum', learning_rate=0.01, trainable=1)\n"
        "TINY_TUNER.fit_batch(INPUTS['x'], _labels, 4)\n"
        "_reconfigured = CTX.live_textures\n"
        "{'first': _first, 'after': _after, 'reconfigured': _reconfigured,\n"
        " 'losses': [_losses[0], _losses[-1]], 'before': _before, 'trained': _trained,\n"
        " 'reset': _reset, 'step': TINY_TUNER.last_step}",
        x=images,
    )
    assert counts["after"] == counts["first"], counts
    # momentum has one state tensor per weight where adam had two; frozen layers have none
    assert counts["reconfigured"] < counts["first"], counts
    assert counts["losses"][1] < 0.1 * counts["losses"][0], counts["losses"]
    assert_close("predictions after reset()", counts["reset"], counts["before"], 1e-6, 0)
    assert counts["trained"].reshape(4, 10).argmax(1).tolist() == [1, 7, 2, 9]
    # forward 2, loss 2, the last layer's x transposed, kernel and bias grads, one update
    # per weight (it and its velocity)
    assert counts["step"]["draws"] == 2 + 2 + 3 + 2, counts["step"]
    pyodide_page.run("TINY.dispose()")


def test_training_errors_say_what_is_wrong(pyodide_page, static_server, tiny_folder):
    _load(pyodide_page, static_server, tiny_folder, "TINY_ERRORS")
    messages = pyodide_page.run(
        "_messages = []\n"
        "_calls = [\n"
        "    lambda: TINY_ERRORS_TUNER.configure_training(optimizer='rmsprop'),\n"
        "    lambda: TINY_ERRORS_TUNER.configure_training(trainable=3),\n"
        "    lambda: TINY_ERRORS_TUNER.configure_training(learning_rate=0),\n"
        "    lambda: TINY_ERRORS_TUNER.fit_batch([0.0] * 784, [1, 2], 1),\n"
        "    lambda: TINY_ERRORS_TUNER.fit_batch([0.0] * 784, [10], 1),\n"
        "    lambda: TINY_ERRORS_TUNER.fit_batch([0.0] * 700, [1], 1),\n"
        "]\n"
        "for _call in _calls:\n"
        "    try:\n"
        "        _call()\n"
        "        _messages.append('no error')\n"
        "    except ValueError as _error:\n"
        "        _messages.append(str(_error))\n"
        "TINY_ERRORS.dispose()\n"
        "_messages"
    )
    assert ("Invalid value for argument `optimizer` of configure_training. Expected one of "
            "sgd, momentum, adam. Received optimizer='rmsprop'.") in messages[0]
    assert "`trainable` of configure_training. Expected 'all' or an int in [1, 2]" in messages[1]
    assert "`learning_rate` of configure_training. Expected a number > 0" in messages[2]
    assert "expected 1 labels, got 2" in messages[3]
    assert "`labels` of fit_batch. Expected integers in [0, 9]. Received labels=10" in \
        messages[4]
    assert "expected n=1 images of shape (28, 28, 1) (784 floats), got 700" in messages[5]


# -- learning a new digit ----------------------------------------------------------------

PRETRAIN_IMAGES = 6000
REPLAY_IMAGES = 400
NINES = 50


def _digits_0_to_8_model() -> Sequential:
    """An MLP trained by our numpy code on 0-8 only: it has never seen a 9 (seconds)."""
    train = load_split("train")
    rows = np.flatnonzero(train.y != 9)[:PRETRAIN_IMAGES]
    model = Sequential([Flatten(), Dense(64, activation="relu"),
                        Dense(10, activation="softmax")], MNIST_INPUT_SHAPE, seed=0)
    adam = opt.Adam(0.003)
    rng = np.random.default_rng(0)
    for _ in range(3):
        order = rng.permutation(rows)
        for start in range(0, len(order), 64):
            batch = order[start:start + 64]
            model.train_step_gradients(train.x[batch], train.y[batch])
            adam.apply(model.parameters(), model.gradients())
    return model


@pytest.mark.slow
def test_fine_tuning_learns_nines_with_replay_and_exports_what_it_predicts(
        pyodide_page, static_server):
    folder = _exported(f"mlp64_digits0to8_{PRETRAIN_IMAGES}", _digits_0_to_8_model)
    train, test = load_split("train"), load_split("test")
    nines = np.flatnonzero(train.y == 9)[:NINES]
    replay = np.flatnonzero(train.y != 9)[20000:20000 + REPLAY_IMAGES]
    # The person's samples count twice (their samples plus copies, as the page does, and replay).
    samples = np.concatenate([np.repeat(nines, 2), replay])
    # Every unseen 9 of the test set and the first 2,000 test images of 0-8.
    keep = np.concatenate([np.flatnonzero(test.y == 9), np.flatnonzero(test.y != 9)[:2000]])
    test_x, test_y = test.x[keep], test.y[keep]
    is_nine = test_y == 9
    _load(pyodide_page, static_server, folder, "LEARNER")
    result = pyodide_page.run(
        "import time\n"
        "_n_test = len(INPUTS['test_labels'])\n"
        "_before = LEARNER.predict(INPUTS['test'], _n_test)\n"
        "LEARNER_TUNER.configure_training(optimizer='adam', learning_rate=0.001)\n"
        "_progress = []\n"
        "_start = time.perf_counter()\n"
        "_history = LEARNER_TUNER.fit(INPUTS['x'], [int(v) for v in INPUTS['labels']], "
        f"{len(samples)},\n"
        "                       epochs=4, batch_size=32, shuffle_seed=1,\n"
        "                       on_progress=lambda s, t, l: _progress.append((s, t)))\n"
        "_fit_ms = 1000 * (time.perf_counter() - _start)\n"
        "_after = LEARNER.predict(INPUTS['test'], _n_test)\n"
        "{'before': _before, 'after': _after, 'history': _history, 'progress': _progress,\n"
        " 'fit_ms': _fit_ms, 'step': LEARNER_TUNER.last_step}",
        x=train.x[samples], labels=train.y[samples].astype(np.float32),
        test=test_x, test_labels=test_y.astype(np.float32),
    )
    before = result["before"].reshape(-1, 10).argmax(1)
    after = result["after"].reshape(-1, 10).argmax(1)
    nines_before = np.mean(before[is_nine] == 9)
    nines_after = np.mean(after[is_nine] == 9)
    others_before = np.mean(before[~is_nine] == test_y[~is_nine])
    others_after = np.mean(after[~is_nine] == test_y[~is_nine])
    summary = (f"unseen 9s {nines_before:.1%} -> {nines_after:.1%}, digits 0-8 "
               f"{others_before:.1%} -> {others_after:.1%}, {len(result['history'])} steps in "
               f"{result['fit_ms']:.0f} ms")
    print(summary)
    assert nines_before <= 0.02, summary
    assert nines_after >= 0.80, summary
    assert others_before - others_after <= 0.05, summary
    total = len(result["history"])
    assert total == 4 * -(-len(samples) // 32)
    assert result["progress"][0] == [1, total] and result["progress"][-1] == [total, total]

    model_json, shards = _page_weights(pyodide_page, "LEARNER")
    exported = sequential_from_artifacts(read_model(model_json, shards))
    probs = exported.predict(test_x)
    assert np.array_equal(probs.argmax(1), after), "exported model predicts differently"
    assert_close("exported model's probabilities vs the page's", result["after"].reshape(-1, 10),
                 probs, atol=1e-4, rtol=0)
    pyodide_page.run("LEARNER.dispose()")
