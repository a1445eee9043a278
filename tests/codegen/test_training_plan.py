"""The fine-tuning plan (webgl_backend.training) over FakeGL, in plain CPython: passes per
step for each optimizer and trainable choice, no recompiles, ping-pong (no pass reads the
texture it writes), one readback per step, bounded textures, and configure_training /
fit_batch / fit argument errors with their messages."""

from __future__ import annotations

from array import array

import pytest

from model_export.export import build_files
from model_export.layers import Conv2D, Dense, Flatten, MaxPooling2D
from model_export.model import Sequential
from webgl_backend.errors import ShapeError
from webgl_backend.fake_gl import FakeGL
from webgl_backend.model_format import read_model
from webgl_backend.runtime import Runtime
from webgl_backend.training import FineTuner, TrainingError

PIXELS = 28 * 28


@pytest.fixture(scope="module")
def mlp_files():
    return build_files(Sequential([Flatten(), Dense(16, activation="relu"),
                                   Dense(10, activation="softmax")], (28, 28, 1), seed=0))


@pytest.fixture(scope="module")
def cnn_files():
    return build_files(Sequential([Conv2D(4, 3, activation="relu"), MaxPooling2D(2), Flatten(),
                                   Dense(10, activation="softmax")], (28, 28, 1), seed=0))


def _load(files):
    gl = FakeGL()
    model = Runtime(gl).load_model(*files)
    return gl, model


def _images(n: int) -> array:
    return array("f", [(i % 17) / 17.0 for i in range(n * PIXELS)])


def _labels(n: int) -> list[int]:
    return [i % 10 for i in range(n)]


# (optimizer, trainable, draws): forward 2 + loss and dlogits 2 + gradients + updates.
# dense_1 (linear): x transposed, dkernel, dbias, dx; dense (relu): dz once, x transposed,
# dkernel, dbias (the first layer needs no dx).
MLP_STEPS = [
    ("sgd", "all", 2 + 2 + 4 + 4 + 4),
    ("momentum", "all", 2 + 2 + 4 + 4 + 4),  # param + velocity per weight: one draw
    ("adam", "all", 2 + 2 + 4 + 4 + 4),      # param + m + v per weight: one draw
    ("adam", 1, 2 + 2 + 3 + 2),              # the last layer only: no dx at all
]


@pytest.mark.parametrize("optimizer, trainable, draws", MLP_STEPS,
                         ids=[f"{o}-trainable={t}" for o, t, _ in MLP_STEPS])
def test_mlp_step_draws_each_pass_once_and_compiles_only_the_first_time(
        mlp_files, optimizer, trainable, draws):
    gl, model = _load(mlp_files)
    tuner = FineTuner(model)
    tuner.configure_training(optimizer=optimizer, learning_rate=0.01, trainable=trainable)
    loss = tuner.fit_batch(_images(4), _labels(4), 4)
    assert isinstance(loss, float)
    first = tuner.last_step
    assert first["draws"] == draws and first["compiles"] > 0
    draw_calls, read_calls = gl.count("drawArrays"), gl.count("readPixels")
    tuner.fit_batch(_images(4), _labels(4), 4)
    second = tuner.last_step
    assert second["draws"] == draws and second["compiles"] == 0
    assert gl.count("drawArrays") - draw_calls == draws
    assert gl.count("readPixels") - read_calls == 1, "a step reads back only the loss"
    assert second["gl_calls"] < first["gl_calls"]
    assert set(second) >= {"draws", "gl_calls", "ms"}


def test_cnn_step_routes_the_gradient_through_pool_and_flatten_view(cnn_files):
    _, model = _load(cnn_files)
    tuner = FineTuner(model)
    tuner.configure_training(optimizer="sgd", learning_rate=0.1)
    tuner.fit_batch(_images(2), _labels(2), 2)
    names = [draw.compiled.program.name for draw in tuner._plans[2].draws]
    assert names == [
        "conv2d_forward", "max_pool2d_forward", "dense_forward",       # forward, no softmax
        "softmax_cross_entropy_forward", "softmax_cross_entropy_backward",
        "dense_backward_kernel_rows4", "dense_gather_rows4",             # four inputs a fragment
        "dense_backward_bias", "dense_backward_input",
        "max_pool2d_backward",                                           # Flatten: a view
        "relu_backward",                                                 # dz once
        "conv2d_backward_kernel", "conv2d_backward_bias",                # first layer: no dx
        "sgd_update", "sgd_update", "sgd_update", "sgd_update",
    ]
    assert tuner.last_step["draws"] == 17
    # The logits program is the Dense without its softmax.
    logits = tuner._plans[2].draws[2].compiled.program
    assert logits.output_shape == (2, 10) and "row_exp_sum" not in logits.source


def test_no_pass_reads_the_texture_it_writes_and_swaps_keep_textures_flat(mlp_files):
    _, model = _load(mlp_files)
    tuner = FineTuner(model)
    tuner.configure_training(optimizer="adam", learning_rate=0.01)
    tuner.fit_batch(_images(4), _labels(4), 4)
    context = model.context
    live = context.live_textures
    kernel = next(op for op in model.ops if op.weights).weights[0]
    before = kernel.texture
    for _ in range(3):
        plan = tuner._plans[4]
        for draw in plan.draws:
            read = {id(t.texture) for t in draw.inputs}
            assert id(draw.output.texture) not in read, f"{draw.label} reads its own output"
        tuner.fit_batch(_images(4), _labels(4), 4)
    assert kernel.texture is not before  # three swaps: the twin holds the weights
    assert context.live_textures == live
    tuner.fit_batch(_images(4), _labels(4), 4)
    # Four steps since `before`: the twin pair swapped back to the first texture.
    assert kernel.texture is before
    # predict sees the trained weights through the same tensor objects, no new textures.
    model.predict(_images(4), 4)
    model.predict(_images(4), 4)
    assert context.live_textures == live + len(model._plans[4].owned_tensors())


def test_reset_uploads_the_loaded_weights_and_export_writes_them(mlp_files):
    _, model = _load(mlp_files)
    tuner = FineTuner(model)
    tuner.configure_training(optimizer="sgd", learning_rate=0.1)
    tuner.fit_batch(_images(4), _labels(4), 4)
    tuner.reset()
    model_json, shards = tuner.export()
    exported = read_model(model_json, shards)
    loaded = read_model(*mlp_files)
    for got, expected in zip(exported.layers, loaded.layers):
        assert [(name, shape) for name, shape, _ in got.weights] == \
            [(name, shape) for name, shape, _ in expected.weights]
        for (_, _, got_values), (_, _, values) in zip(got.weights, expected.weights):
            assert array("f", got_values) == array("f", values)


def test_fit_reports_progress_with_full_batches(mlp_files):
    _, model = _load(mlp_files)
    tuner = FineTuner(model)
    tuner.configure_training(optimizer="sgd", learning_rate=0.1)
    progress = []
    history = tuner.fit(_images(10), _labels(10), 10, epochs=2, batch_size=4,
                        on_progress=lambda step, total, loss: progress.append((step, total)))
    assert len(history) == 2 * 3                       # ceil(10 / 4) steps per epoch
    assert progress == [(step, 6) for step in range(1, 7)]
    assert list(tuner._plans) == [4]          # the last batch is topped up: one plan


def test_reconfiguring_frees_the_old_state(mlp_files):
    _, fresh = _load(mlp_files)
    fresh_tuner = FineTuner(fresh)
    fresh_tuner.configure_training(optimizer="sgd", trainable=1)
    fresh_tuner.fit_batch(_images(4), _labels(4), 4)
    _, model = _load(mlp_files)
    tuner = FineTuner(model)
    tuner.configure_training(optimizer="adam")
    tuner.fit_batch(_images(4), _labels(4), 4)
    adam = model.context.live_textures
    tuner.configure_training(optimizer="sgd", trainable=1)
    tuner.fit_batch(_images(4), _labels(4), 4)
    assert model.context.live_textures == fresh.context.live_textures < adam
    model.dispose()
    assert model.context.live_textures == 0


@pytest.mark.parametrize("kwargs, match", [
    ({"optimizer": "rmsprop"},
     r"Invalid value for argument `optimizer` of configure_training\. Expected one of sgd, "
     r"momentum, adam\. Received optimizer='rmsprop'\."),
    ({"trainable": 3},
     r"Invalid value for argument `trainable` of configure_training\. Expected 'all' or an "
     r"int in \[1, 2\] \(the last N layers with weights\)\. Received trainable=3\."),
    ({"trainable": 0}, r"Expected 'all' or an int in \[1, 2\].*Received trainable=0\."),
    ({"trainable": "last"}, r"Expected 'all' or an int in \[1, 2\].*Received trainable='last'"),
    ({"trainable": True}, r"Expected 'all' or an int in \[1, 2\].*Received trainable=True\."),
    ({"learning_rate": -0.01}, r"argument `learning_rate` of configure_training\. Expected a "
                               r"number > 0\. Received learning_rate=-0.01\."),
    ({"learning_rate": 0}, r"argument `learning_rate` .* Received learning_rate=0\."),
    ({"l2": -1.0}, r"argument `l2` of configure_training\. Expected a number >= 0\. "
                   r"Received l2=-1.0\."),
], ids=["optimizer-unknown", "trainable-too-many", "trainable-0", "trainable-str",
        "trainable-bool", "lr-negative", "lr-0", "l2-negative"])
def test_configure_training_errors_say_what_is_wrong(mlp_files, kwargs, match):
    _, model = _load(mlp_files)
    tuner = FineTuner(model)
    live = model.context.live_textures
    with pytest.raises(TrainingError, match=match):
        tuner.configure_training(**kwargs)
    assert model.context.live_textures == live, "a refused configuration allocates nothing"


@pytest.mark.parametrize("args, match", [
    ((_images(1), [1, 2], 1), r"fit_batch: expected 1 labels, got 2"),
    ((_images(1), [10], 1), r"argument `labels` of fit_batch\. Expected integers in \[0, 9\]\. "
                            r"Received labels=10.0\."),
    ((array("f", bytes(4 * 700)), [1], 1),
     r"fit_batch: expected n=1 images of shape \(28, 28, 1\) \(784 floats\), got 700 floats"),
    ((_images(1), [1], 0), r"argument `n` of fit_batch\. Expected an int in \[1, 256\]\. "
                           r"Received n=0\."),
], ids=["labels-count", "label-range", "image-size", "n-0"])
def test_fit_batch_errors_say_what_is_wrong(mlp_files, args, match):
    _, model = _load(mlp_files)
    tuner = FineTuner(model)
    with pytest.raises(ShapeError, match=match):
        tuner.fit_batch(*args)


def test_fit_argument_errors(mlp_files):
    _, model = _load(mlp_files)
    tuner = FineTuner(model)
    with pytest.raises(TrainingError, match=r"argument `epochs` of fit\. Expected a positive "
                                            r"int\. Received epochs=0\."):
        tuner.fit(_images(2), _labels(2), 2, epochs=0)
    with pytest.raises(ShapeError, match=r"fit: expected 2 images \(1568 floats\) and 2 labels, "
                                         r"got 1568 floats and 3 labels"):
        tuner.fit(_images(2), _labels(3), 2)


def test_a_model_without_a_final_softmax_cannot_be_fine_tuned():
    files = build_files(Sequential([Flatten(), Dense(10)], (28, 28, 1), seed=0))
    _, model = _load(files)
    tuner = FineTuner(model)
    with pytest.raises(TrainingError, match=r"the model must end in a softmax"):
        tuner.configure_training()
