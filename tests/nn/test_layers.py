"""Layers through their public API: gradients (incl. regularizer and the
activate=False path), Keras configs and round trips, error messages, Dropout."""

from __future__ import annotations

import numpy as np
import pytest

from model_export.layers import (
    LAYER_CLASSES,
    Activation,
    AveragePooling2D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    LayerConfigError,
    LayerShapeError,
    LeakyReLU,
    MaxPooling2D,
    layer_from_config,
)
from model_export.architectures import cnn_layers
from model_export.model import Sequential
from model_export.nn.conv import conv2d_backward, conv2d_forward
from model_export.nn.optimizers import Adam
from tests.nn.gradcheck import assert_gradients_close, numerical_gradient


def built(layer, input_shape, seed=0):
    layer.build(input_shape, np.random.default_rng(seed))
    return layer


def check_layer_gradients(layer, x, activate=True, seed=0):
    """Compare layer.backward (input and weight grads) with central differences of
    sum(forward(x) * r) + regularization_loss(), all in float64."""
    for key in layer.weights:
        layer.weights[key] = layer.weights[key].astype(np.float64)
    r = np.random.default_rng(seed).standard_normal(layer.forward(x, activate=activate).shape)

    def loss() -> float:
        return float(np.sum(layer.forward(x, activate=activate) * r)) + layer.regularization_loss()

    layer.forward(x, activate=activate)
    dx = layer.backward(r, activated=activate)
    targets = {"x": (dx, x), **{k: (layer.grads[k], w) for k, w in layer.weights.items()}}
    for name, (analytic, tensor) in targets.items():
        if analytic is not None:
            assert_gradients_close(name, analytic, numerical_gradient(loss, tensor))


# ---------------------------------------------------------------- gradients

LAYER_GRAD_CASES = [
    ("dense-relu-l1l2", lambda: Dense(4, activation="relu",
                                      kernel_regularizer={"class_name": "L1L2",
                                                          "config": {"l1": 0.01, "l2": 0.02}}),
     (3, 5), True),
    ("dense-softmax", lambda: Dense(3, activation="softmax"), (2, 4), True),
    ("dense-softmax-logits", lambda: Dense(3, activation="softmax"), (2, 4), False),
    ("dense-no-bias-tanh", lambda: Dense(2, activation="tanh", use_bias=False), (1, 3), True),
    ("conv2d-cin3-k3-s2-same-relu-l2", lambda: Conv2D(2, 3, strides=2, padding="same",
                                                       activation="relu", kernel_regularizer="l2"),
     (2, 5, 7, 3), True),
    ("conv2d-cin1-k6-s1-same-elu", lambda: Conv2D(2, 6, padding="same", activation="elu"),
     (1, 7, 5, 1), True),
    ("conv2d-cin1-k2-s2-valid-sigmoid-logits", lambda: Conv2D(3, (2, 2), strides=(2, 2),
                                                               activation="sigmoid"),
     (3, 5, 7, 1), False),
    ("conv2d-no-bias-k5-s2-same", lambda: Conv2D(2, 5, strides=2, padding="same",
                                                  use_bias=False), (1, 11, 8, 2), True),
    ("maxpool-3x3-s2-same", lambda: MaxPooling2D(3, strides=2, padding="same"), (2, 5, 7, 2),
     True),
    ("avgpool-2x2-same", lambda: AveragePooling2D(padding="same"), (1, 5, 7, 3), True),
    ("flatten", lambda: Flatten(), (2, 3, 2, 2), True),
    ("activation-softmax", lambda: Activation("softmax"), (2, 5), True),
    ("leaky_re_lu-0.2", lambda: LeakyReLU(0.2), (2, 3, 3, 1), True),
    ("dropout-inference", lambda: Dropout(0.5, seed=1), (2, 4), True),
]


@pytest.mark.parametrize("make, x_shape, activate", [c[1:] for c in LAYER_GRAD_CASES],
                         ids=[c[0] for c in LAYER_GRAD_CASES])
def test_layer_gradients(make, x_shape, activate):
    rng = np.random.default_rng(1)
    layer = built(make(), x_shape[1:])
    # Distinct values away from 0: no ReLU kinks, no max-pool ties under a 1e-6 step.
    x = rng.permutation(np.linspace(0.05, 2.0, int(np.prod(x_shape)))).reshape(x_shape)
    x *= rng.choice([-1.0, 1.0], size=x_shape)
    check_layer_gradients(layer, x, activate=activate)


def test_regularizer_adds_to_loss_and_gradient():
    layer = built(Dense(3, kernel_regularizer={"class_name": "L1L2",
                                               "config": {"l1": 0.0, "l2": 0.5}}), (2,))
    kernel = layer.weights["kernel"]
    assert layer.regularization_loss() == pytest.approx(0.5 * float(np.sum(kernel ** 2)), rel=1e-6)
    layer.forward(np.zeros((1, 2), np.float32))
    layer.backward(np.zeros((1, 3), np.float32))
    np.testing.assert_allclose(layer.grads["kernel"], kernel, rtol=1e-6)
    assert built(Dense(3), (2,)).regularization_loss() == 0.0


def test_conv2d_layer_agrees_with_public_ops_and_can_skip_dx():
    rng = np.random.default_rng(2)
    layer = built(Conv2D(4, 3, strides=2, padding="same", activation="relu"), (7, 5, 1))
    x = rng.standard_normal((2, 7, 5, 1), dtype=np.float32)
    y = layer.forward(x, activate=False)
    np.testing.assert_allclose(y, conv2d_forward(x, layer.weights["kernel"], layer.weights["bias"],
                                                 (2, 2), "same"), rtol=1e-5, atol=1e-6)
    dy = rng.standard_normal(y.shape, dtype=np.float32)
    dx_ref, dkernel_ref, dbias_ref = conv2d_backward(dy, x, layer.weights["kernel"], (2, 2), "same")
    layer.input_gradient_needed = False
    assert layer.backward(dy, activated=False) is None
    np.testing.assert_allclose(layer.grads["kernel"], dkernel_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.grads["bias"], dbias_ref, rtol=1e-5, atol=1e-5)
    assert layer.grads["kernel"].dtype == np.float32


def test_weights_are_float32_in_keras_order_and_layout():
    conv = built(Conv2D(12, (5, 5), strides=2, padding="same"), (28, 28, 6))
    assert list(conv.weights) == ["kernel", "bias"]
    assert conv.weights["kernel"].shape == (5, 5, 6, 12) and conv.weights["bias"].shape == (12,)
    assert all(w.dtype == np.float32 for w in conv.weights.values())
    assert conv.compute_output_shape((28, 28, 6)) == (14, 14, 12)
    dense = built(Dense(10, use_bias=False), (784,))
    assert list(dense.weights) == ["kernel"] and dense.weights["kernel"].shape == (784, 10)
    assert built(Flatten(), (7, 7, 24)).weights == {}
    assert Flatten().compute_output_shape((7, 7, 24)) == (1176,)
    assert MaxPooling2D().compute_output_shape((7, 7, 3)) == (3, 3, 3)
    assert MaxPooling2D(padding="same").compute_output_shape((7, 7, 3)) == (4, 4, 3)


def test_build_is_seeded_by_the_rng():
    a = built(Dense(5), (4,), seed=3).weights["kernel"]
    b = built(Dense(5), (4,), seed=3).weights["kernel"]
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- Dropout

def test_dropout_inverted_scaling_and_identity_at_inference():
    layer = built(Dropout(0.25, seed=7), (1000,))
    x = np.ones((4, 1000), np.float32)
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    y = layer.forward(x, training=True)
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    assert 0.2 < float(np.mean(y == 0)) < 0.3
    dx = layer.backward(np.full_like(x, 2.0))
    np.testing.assert_array_equal(dx, 2.0 * y)


def test_dropout_with_seed_repeats_masks():
    x = np.ones((3, 50), np.float32)
    first = built(Dropout(0.5, seed=11), (50,), seed=0)
    second = built(Dropout(0.5, seed=11), (50,), seed=99)  # the seed overrides the build rng
    for _ in range(2):
        np.testing.assert_array_equal(first.forward(x, training=True),
                                      second.forward(x, training=True))


# ---------------------------------------------------------------- configs

ALL_LAYERS = [
    Dense(10, activation="softmax", kernel_initializer="he_normal", kernel_regularizer="l2",
          name="dense_1"),
    Conv2D(12, 5, strides=2, padding="same", activation="relu", name="conv2d"),
    MaxPooling2D(pool_size=(2, 3), strides=(1, 2), padding="same"),
    AveragePooling2D(),
    Flatten(),
    Dropout(0.25, seed=3),
    Activation("tanh"),
    LeakyReLU(0.1),
]


@pytest.mark.parametrize("layer", ALL_LAYERS, ids=lambda layer: type(layer).__name__)
def test_config_round_trip(layer):
    config = layer.get_config()
    again = layer_from_config({"class_name": type(layer).__name__, "config": config})
    assert type(again) is type(layer)
    assert again.get_config() == config
    assert repr(again) == repr(layer)
    assert LAYER_CLASSES[type(layer).__name__] is type(layer)


def test_dense_config_has_exactly_the_keras_keys():
    config = ALL_LAYERS[0].get_config()
    assert config == {
        "name": "dense_1", "trainable": True, "dtype": "float32", "units": 10,
        "activation": "softmax", "use_bias": True,
        "kernel_initializer": {"class_name": "HeNormal", "config": {"seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}},
        "kernel_regularizer": {"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.01}},
        "bias_regularizer": None, "activity_regularizer": None,
        "kernel_constraint": None, "bias_constraint": None,
    }


def test_conv_pool_and_other_configs_use_keras_keys():
    conv = ALL_LAYERS[1].get_config()
    assert {k: conv[k] for k in ("filters", "kernel_size", "strides", "padding", "data_format",
                                 "dilation_rate", "groups", "activation")} == {
        "filters": 12, "kernel_size": [5, 5], "strides": [2, 2], "padding": "same",
        "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1, "activation": "relu"}
    assert conv["kernel_initializer"] == {"class_name": "GlorotUniform", "config": {"seed": None}}
    assert AveragePooling2D().get_config() == {
        "name": None, "trainable": True, "dtype": "float32", "pool_size": [2, 2],
        "strides": [2, 2], "padding": "valid", "data_format": "channels_last"}
    assert Flatten().get_config()["data_format"] == "channels_last"
    assert Dropout(0.25, seed=3).get_config() == {
        "name": None, "trainable": True, "dtype": "float32", "rate": 0.25, "noise_shape": None,
        "seed": 3}
    assert Activation("tanh").get_config()["activation"] == "tanh"
    assert LeakyReLU().get_config()["alpha"] == 0.3
    assert Dense(3).get_config()["activation"] == "linear"


def test_default_name_prefixes_follow_keras():
    prefixes = {cls.__name__: cls.default_name_prefix for cls in LAYER_CLASSES.values()}
    assert prefixes == {
        "Dense": "dense", "Conv2D": "conv2d", "MaxPooling2D": "max_pooling2d",
        "AveragePooling2D": "average_pooling2d", "Flatten": "flatten", "Dropout": "dropout",
        "Activation": "activation", "LeakyReLU": "leaky_re_lu",
        "BatchNormalization": "batch_normalization",
        "GlobalAveragePooling2D": "global_average_pooling2d",
        "GlobalMaxPooling2D": "global_max_pooling2d", "ReLU": "re_lu", "ELU": "elu",
        "Softmax": "softmax", "ZeroPadding2D": "zero_padding2d", "Reshape": "reshape"}


def test_reprs_are_readable():
    assert repr(Conv2D(12, kernel_size=(5, 5), strides=(2, 2), padding="same",
                       activation="relu")) == \
        "Conv2D(12, kernel_size=(5, 5), strides=(2, 2), padding='same', activation='relu')"
    assert repr(Dense(10, activation="softmax")) == "Dense(10, activation='softmax')"
    assert repr(MaxPooling2D()) == "MaxPooling2D(pool_size=(2, 2), strides=(2, 2), padding='valid')"


def test_trainable_survives_round_trip():
    layer = Dense(2)
    layer.trainable = False
    assert Dense.from_config(layer.get_config()).trainable is False


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Dense(0), r"Invalid value for argument `units`\. Expected a strictly positive "
                           r"integer\. Received units=0\."),
        (lambda: Dense(2.5), r"Received units=2\.5\."),
        (lambda: Conv2D(-1, 3), r"argument `filters`.*Received filters=-1\."),
        (lambda: Conv2D(4, (0, 3)), r"argument `kernel_size`.*Received kernel_size=\(0, 3\)\."),
        (lambda: Conv2D(4, 3, strides=(1, 2, 3)), r"argument `strides`"),
        (lambda: Conv2D(4, 3, padding="full"), r"argument `padding`.*Received padding='full'\."),
        (lambda: MaxPooling2D(pool_size=0), r"argument `pool_size`.*Received pool_size=0\."),
        (lambda: Dropout(1.0), r"argument `rate`.*\[0, 1\).*Received rate=1\.0\."),
        (lambda: LeakyReLU(-0.1), r"argument `alpha`.*Received alpha=-0\.1\."),
    ],
    ids=["units-0", "units-float", "filters-negative", "kernel_size-0", "strides-triple",
         "padding-full", "pool_size-0", "rate-1", "alpha-negative"],
)
def test_invalid_arguments_name_the_argument_and_echo_the_value(make, message):
    with pytest.raises(LayerConfigError, match=message):
        make()


def test_unknown_activation_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"Unknown activation 'relux'\. Expected one of: elu, "
                                         r"leaky_relu, linear, relu, sigmoid, softmax, tanh\."):
        Dense(3, activation="relux")


def test_unknown_initializer_is_rejected_at_construction():
    with pytest.raises(ValueError, match="Unknown initializer 'glorot_unicorn'"):
        Dense(3, kernel_initializer="glorot_unicorn")


def test_dense_on_image_input_suggests_flatten():
    with pytest.raises(LayerShapeError, match=r"flat input .* got input shape \(28, 28, 1\).*"
                                              r"Add a Flatten layer"):
        built(Dense(10), (28, 28, 1))


def test_conv2d_on_flat_input_and_oversized_valid_kernel_are_rejected():
    with pytest.raises(LayerShapeError, match=r"expects input \(height, width, channels\)"):
        built(Conv2D(4, 3), (784,))
    with pytest.raises(ValueError, match="size 5 does not fit an input of size 4"):
        built(Conv2D(4, 5), (4, 4, 1))


def test_forward_checks_the_input_shape():
    layer = built(Dense(3), (4,), seed=0)
    with pytest.raises(LayerShapeError, match=r"expected input \(batch,\) \+ \(4,\), got \(2, 5\)"):
        layer.forward(np.zeros((2, 5), np.float32))


def test_layer_from_config_rejects_unknown_class_and_unsupported_values():
    with pytest.raises(LayerConfigError, match=r"Unknown layer class 'Conv3D'\. Expected one of: "
                                               r"Activation, AveragePooling2D, BatchNormalization, Conv2D"):
        layer_from_config({"class_name": "Conv3D", "config": {}})
    config = Conv2D(4, 3).get_config()
    config["dilation_rate"] = [2, 2]
    with pytest.raises(LayerConfigError, match=r"Unsupported value for `dilation_rate`: \[2, 2\]"):
        Conv2D.from_config(config)


# ---------------------------------------------------------------- training steps

def _cnn_after_steps(steps: int) -> tuple[Sequential, Adam]:
    """The shipped CNN architecture after `steps` Adam updates on fixed random batches."""
    model = Sequential(cnn_layers(), (28, 28, 1), seed=3)
    optimizer = Adam(0.003, epsilon=1e-7)
    rng = np.random.default_rng(4)
    for _ in range(steps):
        x = rng.random((8, 28, 28, 1), dtype=np.float32)
        model.train_step_gradients(x, rng.integers(0, 10, 8))
        optimizer.apply(model.parameters(), model.gradients())
    return model, optimizer


def test_cnn_training_is_bit_stable_and_float32_end_to_end():
    first, optimizer = _cnn_after_steps(3)
    second, _ = _cnn_after_steps(3)
    for (name, a), (_, b) in zip(first.get_weights(), second.get_weights()):
        assert a.dtype == np.float32, name
        assert np.array_equal(a, b), f"{name} differs between two runs with one seed"
    for layer in first.layers:
        for key, grad in layer.grads.items():
            assert grad.dtype == np.float32, f"{layer.name}/{key} gradient is {grad.dtype}"
    for slot, arrays in optimizer.state.items():
        assert all(a.dtype == np.float32 for a in arrays), f"Adam state {slot!r} upcast"
