"""webgl_backend.model_sessions in CPython (FakeGL): the public module's models by id,
several on one GL context."""

from __future__ import annotations

import pytest

from tests.e2e.test_worker_api import blob, mlp_files, run_to_end
from webgl_backend.context import GLContext
from webgl_backend.errors import ContextLostError
from webgl_backend.fake_gl import FakeGL
from webgl_backend.model_sessions import ModelSessions
from webgl_backend.worker_api import PageSession


def open_mlp(models: ModelSessions) -> int:
    text, shards = mlp_files()
    return models.open(text, shards)["id"]


def test_two_models_share_one_context_and_close_frees_their_textures():
    context = GLContext(FakeGL())
    models = ModelSessions(context)
    empty = context.counters()["live_textures"]
    first, second = open_mlp(models), open_mlp(models)
    assert first != second
    assert len(models.predict(first, blob(0, 2), 2)["probabilities"]) == 20
    info = models.info(second)
    assert [layer["class_name"] for layer in info["layers"]] == ["Flatten", "Dense", "Dense"]
    assert info["input_shape"] == [28, 28, 1] and info["output_shape"] == [10]
    assert [s["program"] for s in info["sources"]] == ["dense_forward", "dense_forward"]
    models.close(first)
    models.close(second)
    assert context.counters()["live_textures"] == empty
    with pytest.raises(ValueError, match="model 1 is not loaded"):
        models.predict(first, blob(0), 1)


def test_fit_trains_on_exactly_the_images_given():
    models = ModelSessions(GLContext(FakeGL()))
    model = open_mlp(models)
    steps = []
    result = run_to_end(models.fit(model, blob(1, 4), [3, 3, 3, 3], 4,
                                   lambda step, total, *_: steps.append((step, total)),
                                   {"epochs": 2, "batch_size": 4}))
    assert result["samples"] == 4 and result["steps"] == 2 and steps == [(1, 2), (2, 2)]
    model_json, shards = models.export(model)["model_json"], models.export(model)["shards"]
    assert "weightsManifest" in model_json and shards


def test_after_a_restored_context_the_models_are_refused_as_lost_and_new_ones_load():
    gl = FakeGL()
    context = GLContext(gl)
    models = ModelSessions(context)
    first = open_mlp(models)
    gl.context_lost = True
    with pytest.raises(ContextLostError, match="WebGL context was lost"):
        models.predict(first, blob(0), 1)
    gl.context_lost = False
    models.context_restored()
    assert context.counters()["live_textures"] == 0 and context.generation == 1
    with pytest.raises(ContextLostError, match="model 1 was lost with the WebGL context"):
        models.predict(first, blob(0), 1)
    models.close(first)  # disposing a lost model is allowed, and frees nothing
    second = open_mlp(models)
    assert len(models.predict(second, blob(0), 1)["probabilities"]) == 10


def test_a_model_loaded_at_start_up_is_adopted_on_the_shared_context():
    context = GLContext(FakeGL())
    models = ModelSessions(context)
    text, shards = mlp_files()
    started = PageSession(context)
    started.load(text, shards)
    model = models.adopt(started)
    assert models.predict(model, blob(0), 1)["probabilities"] == started.predict(blob(0), 1)[
        "probabilities"]
    assert open_mlp(models) == model + 1
    elsewhere = PageSession(FakeGL())
    with pytest.raises(ValueError, match="on another GL context"):
        models.adopt(elsewhere)


def test_fit_mixes_copies_and_replay_and_checks_the_replay_set():
    """(Reset's weights are compared in the browser: FakeGL computes nothing.)"""
    models = ModelSessions(GLContext(FakeGL()))
    model = open_mlp(models)
    result = run_to_end(models.fit(model, blob(1, 2), [3, 4], 2, None,
                                   {"epochs": 1, "batch_size": 4, "copies": 2},
                                   blob(2, 3), [0, 1, 2], 3))
    assert result["samples"] == 2 + 2 * 2 + 3 and result["options"]["copies"] == 2
    models.reset(model)
    with pytest.raises(ValueError, match="replay images: expected n=3"):
        run_to_end(models.fit(model, blob(1), [3], 1, None, {}, blob(2, 2), [0, 1, 2], 3))


def test_layer_maps_answer_predict_and_every_layer_by_model_id():
    models = ModelSessions(GLContext(FakeGL()))
    model = open_mlp(models)
    maps = models.layer_maps(model, blob(3))
    assert maps["probabilities"] == models.predict(model, blob(3), 1)["probabilities"]
    assert [layer["name"].split("+")[0] for layer in maps["layers"]] == ["dense", "dense_1"]
    with pytest.raises(ValueError, match="model 9 is not loaded"):
        models.layer_maps(9, blob(3))
