"""Runtime over FakeGL: layer sequence, fusion, program reuse, texture lifetimes."""

from __future__ import annotations

from array import array

import pytest

from model_export.architectures import cnn_layers, mlp_layers
from model_export.export import build_files
from model_export.layers import Activation, Dense, Flatten, LeakyReLU, MaxPooling2D
from model_export.model import Sequential
from webgl_backend.errors import ContextLostError, ModelFormatError, ShapeError
from webgl_backend.fake_gl import FakeGL
from webgl_backend.runtime import Runtime


def _files(layers, input_shape=(28, 28, 1)):
    return build_files(Sequential(layers, input_shape=input_shape, seed=0))


@pytest.fixture(scope="module")
def cnn_files():
    return _files(cnn_layers())


def test_cnn_is_five_draws_with_relu_and_softmax_fused(cnn_files):
    runtime = Runtime(FakeGL())
    model = runtime.load_model(*cnn_files)
    model.predict(array("f", bytes(4 * 784)), 1)
    assert model.last_forward["draws"] == 5
    assert model.last_forward["programs"] == 5
    assert model.last_forward["compiles"] == 0  # warm_up compiled them all
    names = [entry["program"] for entry in model.generated_sources()]
    assert names == ["conv2d_forward"] * 3 + ["dense_forward"] * 2
    assert "exp(logits[u4] - largest) / total" in model.generated_sources()[-1]["source"]


def test_activation_layers_fuse_into_the_producer_and_pool_runs_alone():
    layers = [MaxPooling2D((2, 2)), Flatten(), Dense(16), LeakyReLU(0.1), Dense(10),
              Activation("softmax")]
    model = Runtime(FakeGL()).load_model(*_files(layers))
    sources = model.generated_sources()
    # Flatten of (14, 14, 1): the packing changes, so one repacking draw.
    assert [s["program"] for s in sources] == ["max_pool2d_forward", "reshape_forward",
                                               "dense_forward", "dense_forward"]
    assert "0.1 * min(v, 0.0)" in sources[2]["source"]
    assert sources[2]["layer"].endswith("+" + model.artifacts.layers[3].name)


def test_predict_returns_n_times_classes_and_chunks_large_batches(cnn_files):
    model = Runtime(FakeGL()).load_model(*cnn_files)
    model.max_batch = 4
    out = model.predict(array("f", bytes(4 * 784 * 10)), 10)
    assert len(out) == 100
    assert model.last_forward["draws"] == 15  # chunks of 4, 4, 2


def test_predict_checks_the_input_size(cnn_files):
    model = Runtime(FakeGL()).load_model(*cnn_files)
    with pytest.raises(ShapeError, match=r"expected n=2 images of shape \(28, 28, 1\) "
                                         r"\(1568 floats\), got 784 floats"):
        model.predict(array("f", bytes(4 * 784)), 2)


def test_textures_stay_flat_over_predicts_and_reloads_and_dispose_frees_all():
    gl = FakeGL()
    runtime = Runtime(gl)
    files = _files(mlp_layers())
    baseline = runtime.context.live_textures
    model = runtime.load_model(*files)
    model.predict(array("f", bytes(4 * 784)), 1)
    after_first = runtime.context.live_textures
    for _ in range(50):
        model.predict(array("f", bytes(4 * 784)), 1)
    assert runtime.context.live_textures == after_first
    for _ in range(3):
        model = runtime.load_model(*files)
        model.predict(array("f", bytes(4 * 784)), 1)
    assert runtime.context.live_textures == after_first
    runtime.dispose()
    assert runtime.context.live_textures == baseline
    assert runtime.context.live_framebuffers == 0


def test_a_bad_model_leaves_the_loaded_one_working(cnn_files):
    runtime = Runtime(FakeGL())
    model = runtime.load_model(*cnn_files)
    model_json, shards = cnn_files
    with pytest.raises(ModelFormatError):
        runtime.load_model(model_json, {name: data[:-4] for name, data in shards.items()})
    assert runtime.model is model
    model.predict(array("f", bytes(4 * 784)), 1)


def test_context_loss_is_reported_and_restore_rebuilds(cnn_files):
    gl = FakeGL()
    runtime = Runtime(gl)
    model = runtime.load_model(*cnn_files)
    gl.context_lost = True
    with pytest.raises(ContextLostError, match="WebGL context was lost"):
        model.predict(array("f", bytes(4 * 784)), 1)
    with pytest.raises(ContextLostError, match="still lost"):
        model.restore()
    gl.context_lost = False
    model.restore()
    assert runtime.context.live_textures > 0
    model.predict(array("f", bytes(4 * 784)), 1)
    assert model.last_forward["draws"] == 5
