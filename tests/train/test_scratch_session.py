"""ScratchSession in CPython over FakeGL (draws compute nothing there: these check the API,
the run's bookkeeping, refusals and GPU object counts; the numbers are proven in the
browser, tests/browser/test_scratch_steps.py and test_scratch_training.py)."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from model_export.data import load_split
from model_export.nn.schedules import ExponentialDecay
from webgl_backend.fake_gl import FakeGL
from webgl_backend.ladder import LADDER
from webgl_backend.model_format import read_model
from webgl_backend.scratch import ScratchSession
from webgl_backend.scratch.initial_weights import initial_weights, uniform_limit
from webgl_backend.ladder import layers_with_dropout


def _run(coroutine):
    """asyncio.run in a thread of its own: Playwright's sync API may hold this thread's event
    loop when browser tests run earlier in the same session."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _bytes(split, n: int) -> tuple[bytes, bytes]:
    pixels = np.round(split.x[:n, ..., 0] * 255).astype(np.uint8)
    return pixels.tobytes(), split.y[:n].astype(np.uint8).tobytes()


@pytest.fixture(scope="module")
def data() -> tuple:
    train, test = load_split("train"), load_split("test")
    return (*_bytes(train, 1200), 1200, *_bytes(test, 300), 300)


def _session(data, name="softmax", **create) -> ScratchSession:
    session = ScratchSession(FakeGL())
    session.create(name, **create)
    session.set_data(*data)
    return session


def test_ladder_and_create_give_the_contracts_shapes():
    session = ScratchSession(FakeGL())
    rungs = session.ladder()
    assert [r["name"] for r in rungs] == list(LADDER)
    for rung in rungs:
        assert set(rung) == {"name", "title", "description", "layers", "parameters", "defaults"}
        assert {"optimizer", "learning_rate", "decay", "lr_floor", "decay_steps", "batch_size",
                "dropout", "epochs"} <= set(rung["defaults"])
    info = session.create("cnn", seed=4)
    assert info["parameters"] == rungs[-1]["parameters"] == 244076
    assert [layer["class_name"] for layer in info["layers"]] == [
        "Conv2D", "Conv2D", "Conv2D", "Flatten", "Dense", "Dropout", "Dense"]
    assert info["input_shape"] == [28, 28, 1] and info["output_shape"] == [10]


def test_initial_weights_are_seeded_glorot_uniform_with_zero_biases():
    layers = layers_with_dropout("mlp5_relu")
    first, again, other = (initial_weights(layers, seed) for seed in (3, 3, 4))
    assert [w[2].tobytes() for w in first] == [w[2].tobytes() for w in again]
    assert first[0][2].tobytes() != other[0][2].tobytes()
    for name, shape, values in first:
        values = np.asarray(values)
        if name.endswith("/bias"):
            assert not values.any(), name
            continue
        limit = np.sqrt(6.0 / (shape[0] + shape[1]))
        assert uniform_limit("glorot_uniform", shape) == pytest.approx(limit)
        assert np.abs(values).max() <= limit and np.abs(values).max() > 0.95 * limit, name
        # uniform on [-limit, limit]: standard deviation limit / sqrt(3)
        assert values.std() == pytest.approx(limit / np.sqrt(3), rel=0.05), name


def test_a_run_reports_every_step_and_epoch_and_exports_a_readable_model(data):
    session = _session(data, "mlp5_relu")
    events = []
    result = _run(session.train({"epochs": 2, "train_images": 1100,
                                        "validation_images": 100, "batch_size": 100},
                                       events.append))
    batches = [e for e in events if e["kind"] == "batch"]
    epochs = [e for e in events if e["kind"] == "epoch"]
    assert [e["step"] for e in batches] == list(range(1, 21))
    assert {e["steps"] for e in batches} == {20}
    assert set(batches[0]) == {"kind", "step", "steps", "epoch", "epochs", "loss", "accuracy",
                               "smoothed_loss", "smoothed_accuracy", "learning_rate",
                               "images_per_s", "eta_s", "elapsed_s"}
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert set(epochs[0]) == {"kind", "epoch", "epochs", "val_loss", "val_accuracy",
                              "best_epoch", "best_val_accuracy"}
    assert result["epochs_done"] == 2 and result["steps_done"] == 20
    assert result["history"] == epochs and not result["stopped"]
    exported = session.export()
    artifacts = read_model(exported["model_json"], exported["shards"])
    assert [spec.class_name for spec in artifacts.layers][-1] == "Dense"
    assert json.loads(exported["model_json"])["format"] == "layers-model"
    report = session.evaluate(mistakes=5)
    assert report["images"] == 300 and len(report["confusion"]) == 10
    assert sum(map(sum, report["confusion"])) == 300 and len(report["mistakes"]) <= 5


def test_decay_reaches_the_learning_rate_of_each_step(data):
    session = _session(data, "mlp5_relu_decay")
    events = []
    _run(session.train({"epochs": 1, "train_images": 1100, "validation_images": 100,
                               "decay_steps": 4, "lr_floor": 0.001}, events.append))
    rates = [e["learning_rate"] for e in events if e["kind"] == "batch"]
    trainer = ExponentialDecay(0.003, 4, LADDER["mlp5_relu_decay"].decay_rate, floor=0.001)
    assert rates == [trainer(step) for step in range(10)]  # the desktop's formula, exactly
    assert rates[0] == 0.003 and rates[-1] == 0.001


def test_stop_and_pause_from_progress_callbacks(data):
    session = _session(data)
    seen = []

    def resume_later():
        seen.append(("while paused", session.state()))
        session.resume()

    def on_progress(event):
        seen.append((event["kind"], session.state()))
        if event["kind"] == "batch" and event["step"] == 3:
            session.pause()
            asyncio.get_running_loop().call_later(0.05, resume_later)
        if event["kind"] == "batch" and event["step"] == 14:
            session.stop()

    result = _run(session.train({"epochs": 3, "train_images": 1100,
                                        "validation_images": 100}, on_progress))
    assert result["stopped"] and result["steps_done"] == 14 and result["epochs_done"] == 1
    assert result["best_epoch"] == 1
    assert seen[3] == ("while paused", "paused") and seen[4] == ("batch", "training")
    assert session.state() == "idle"


def test_bad_options_are_refused_naming_the_option(data):
    session = _session(data)
    cases = [
        ({"optimiser": "adam"}, "unknown option(s) 'optimiser'; allowed: optimizer, "),
        ({"optimizer": "rmsprop"}, "option 'optimizer' must be one of sgd, momentum, adam, "
                                   "got 'rmsprop'"),
        ({"train_images": 500}, "option 'train_images' must be an integer in [1000, 1200], "
                                "got 500"),
        ({"batch_size": 1000}, "option 'batch_size' must be an integer in [1, 256]"),
        ({"dropout": 1.0}, "option 'dropout' must be a number in [0.0, 1.0)"),
        ({"decay": "step"}, "option 'decay' must be one of none, exponential, got 'step'"),
        ({"learning_rate": 0}, "option 'learning_rate' must be a number in (0, 10]"),
        ({"validation_images": 1100, "train_images": 1100},
         "option 'validation_images' must be an integer in [0, 1099]"),
    ]
    for options, message in cases:
        with pytest.raises(ValueError) as error:
            _run(session.train(options))
        assert message in str(error.value), (options, str(error.value))
    with pytest.raises(ValueError, match="Expected one of softmax.*name='lenet'"):
        session.create("lenet")
    with pytest.raises(ValueError, match="expected 2 images of 28x28 uint8 \\(1568 bytes\\)"):
        session.set_data(b"\0" * 784, b"\1", 2, b"", b"", 0)
    with pytest.raises(ValueError, match="labels must be digits 0..9, got 12"):
        session.set_data(b"\0" * 784, b"\x0c", 1, b"", b"", 0)
    assert session.state() == "idle"


def test_dropout_changed_at_train_keeps_the_weights_and_rebuilds_the_layers(data):
    session = _session(data, "softmax", seed=2)
    before = session.export()
    _run(session.train({"epochs": 1, "train_images": 1100, "validation_images": 100,
                               "dropout": 0.3, "learning_rate": 1e-9}))
    layers = [s.class_name for s in read_model(**{
        "model_json": session.export()["model_json"],
        "shards": session.export()["shards"]}).layers]
    assert layers == ["Flatten", "Dropout", "Dense"]
    assert read_model(before["model_json"], before["shards"]).layers[-1].class_name == "Dense"


def test_steps_grow_no_gpu_objects(data):
    session = _session(data, "mlp5_dropout")
    options = {"epochs": 1, "train_images": 1100, "validation_images": 100}
    _run(session.train(options))
    first = session.context.counters()
    _run(session.train({**options, "epochs": 3}))
    after = session.context.counters()
    assert (after["live_textures"], after["live_framebuffers"]) == \
        (first["live_textures"], first["live_framebuffers"])


def test_creating_again_frees_the_previous_model(data):
    session = _session(data, "cnn")
    _run(session.train({"epochs": 1, "train_images": 1100, "validation_images": 100}))
    first = session.context.counters()
    for name in ("mlp5_dropout", "softmax", "cnn"):
        session.create(name)
    _run(session.train({"epochs": 1, "train_images": 1100, "validation_images": 100}))
    after = session.context.counters()
    assert after["live_textures"] == first["live_textures"]
    session.dispose()
    assert session.context.counters()["live_textures"] == 0
