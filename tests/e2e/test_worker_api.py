"""webgl_backend.worker_api in CPython (FakeGL): what the page's worker calls, and the
training-set mixing (drawings + jittered copies + replay) it fine-tunes on."""

from __future__ import annotations

import json
import random
from array import array

import numpy as np
import pytest

from model_export.export import build_files
from model_export.layers import Dense, Flatten
from model_export.model import Sequential
from webgl_backend.fake_gl import FakeGL
from webgl_backend.worker_api import (IMAGE_FLOATS, PageSession, TrainOptions,
                                      TrainingUnavailableError, build_training_set, gather,
                                      jitter, shuffled_batches)


def mlp_files() -> tuple[str, dict[str, bytes]]:
    model = Sequential([Flatten(), Dense(8, activation="relu"), Dense(10, activation="softmax")],
                       input_shape=(28, 28, 1), seed=0)
    model_json, shards = build_files(model)
    return json.dumps(model_json), shards


def blob(seed: int, n: int = 1) -> array:
    """n images with a filled square at a seeded place (ink 1.0 on 0.0)."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28), dtype=np.float32)
    for image in images:
        top, left = rng.integers(6, 16, size=2)
        image[top:top + 6, left:left + 4] = 1.0
    return array("f", images.tobytes())


def run_to_end(coroutine):
    """Drive a coroutine that only awaits asyncio.sleep(0) (no event loop: Playwright's sync
    API may hold this thread's loop when browser tests run in the same session)."""
    try:
        while True:
            coroutine.send(None)
    except StopIteration as done:
        return done.value


@pytest.fixture
def session() -> PageSession:
    session = PageSession(FakeGL())
    text, shards = mlp_files()
    info = session.load(text, {name: memoryview(data) for name, data in shards.items()})
    assert info["parameters"] == 784 * 8 + 8 + 8 * 10 + 10
    assert [layer["class_name"] for layer in info["layers"]] == ["Flatten", "Dense", "Dense"]
    session.warm_up()
    return session


def test_session_predicts_plain_python_values(session):
    result = session.predict(blob(0), 1)
    assert result["forward"]["draws"] == 2 and result["forward"]["compiles"] == 0  # warmed up
    result = session.predict(blob(0, 3), 3)
    assert len(result["probabilities"]) == 30 and isinstance(result["probabilities"], list)
    assert result["ms"] >= 0
    assert [s["program"] for s in session.sources()] == ["dense_forward", "dense_forward"]
    counters = session.counters()
    assert counters["context"]["live_textures"] > 0 and counters["forward"]["draws"] == 2


def test_session_without_a_model_says_so():
    with pytest.raises(ValueError, match="no model is loaded yet"):
        PageSession(FakeGL()).predict(blob(0), 1)


def test_fit_without_the_training_api_is_a_clear_error(session, monkeypatch):
    monkeypatch.setattr(PageSession, "can_train", lambda self: False)
    with pytest.raises(TrainingUnavailableError, match="training is not available"):
        run_to_end(session.fit(blob(1), [3], 1))


def test_training_set_is_drawings_then_copies_then_replay():
    drawings, replay = blob(1, 2), blob(2, 5)
    x, y, total = build_training_set(drawings, [3, 7], 2, replay, array("i", range(5)), 5,
                                     copies=4, seed=0)
    assert total == 2 + 2 * 4 + 5 and len(x) == total * IMAGE_FLOATS
    assert list(y) == [3, 7] + [3] * 4 + [7] * 4 + [0, 1, 2, 3, 4]
    assert x[:2 * IMAGE_FLOATS] == drawings
    assert x[-5 * IMAGE_FLOATS:] == replay
    copies = np.frombuffer(x[2 * IMAGE_FLOATS:10 * IMAGE_FLOATS], np.float32).reshape(8, 784)
    original = np.frombuffer(drawings[:IMAGE_FLOATS], np.float32)
    for copy in copies[:4]:
        assert not np.array_equal(copy, original)
        assert copy.sum() == pytest.approx(original.sum(), rel=0.35)  # moved, not erased


@pytest.mark.parametrize("what, kwargs, message", [
    ("short-images", dict(images=array("f", bytes(4 * 700)), labels=[1], n=1),
     r"drawings: expected n=1 images of 28x28 \(784 floats\) and 1 labels, got 700 floats"),
    ("label-10", dict(images=blob(0), labels=[10], n=1), r"labels must be digits 0..9, got \[10\]"),
])
def test_training_set_refuses_bad_input(what, kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_training_set(kwargs["images"], kwargs["labels"], kwargs["n"], array("f"),
                           array("i"), 0, copies=1, seed=0)


def test_jitter_keeps_ink_inside_and_is_seeded():
    image = blob(3)
    first, again = jitter(image, random.Random(5)), jitter(image, random.Random(5))
    assert first == again and first != jitter(image, random.Random(6))
    values = np.frombuffer(first, np.float32)
    assert values.min() >= 0.0 and values.max() <= 1.0 + 1e-6


def test_batches_cover_every_sample_once_per_epoch():
    batches = list(shuffled_batches(70, 32, 2, seed=1))
    assert [len(b) for b in batches] == [32] * 6  # one batch size: one training plan
    for epoch in (batches[:3], batches[3:]):
        seen = [i for b in epoch for i in b]
        assert sorted(set(seen)) == list(range(70)) and len(seen) == 96
    assert [len(b) for b in shuffled_batches(5, 32, 1, seed=0)] == [5]
    assert batches[0] != batches[3]
    x, y = gather(blob(0, 70), array("i", range(70)), batches[0][:3])
    assert len(x) == 3 * IMAGE_FLOATS and list(y) == batches[0][:3]


def test_train_options_refuse_unknown_keys_and_bad_values():
    assert TrainOptions.of({"epochs": 2}).epochs == 2
    with pytest.raises(ValueError, match=r"unknown training option\(s\) \['epoch'\]"):
        TrainOptions.of({"epoch": 2})
    with pytest.raises(ValueError, match="epochs and batch_size must be >= 1"):
        TrainOptions.of({"epochs": 0})


def test_fit_runs_every_step_and_reports_progress(session):
    """Over FakeGL the numbers are meaningless (reads return zeros); the plumbing is not."""
    assert session.can_train(), "this runtime build has no fine-tuning API"
    calls = []
    result = run_to_end(session.fit(blob(1, 2), [3, 7], 2, blob(2, 20), list(range(10)) * 2, 20,
                                    on_progress=lambda *args: calls.append(args),
                                    options={"epochs": 2, "copies": 3, "batch_size": 16}))
    assert result["samples"] == 2 + 2 * 3 + 20 and result["steps"] == 4
    assert [c[:2] for c in calls] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert len(result["losses"]) == 4 and not session.training
    assert session.counters()["step"]["ms"] >= 0
    exported = session.export()
    assert json.loads(exported["model_json"])["format"] == "layers-model"
    assert all(isinstance(data, bytes) for data in exported["shards"].values())
    session.reset()
