"""The numpy layers for BatchNormalization, global pooling, ReLU, ELU, Softmax,
ZeroPadding2D and Reshape: configs round-trip, BatchNormalization trains with batch
statistics and moves its averages, and a model with them trains."""

from __future__ import annotations

import numpy as np
import pytest

from model_export.layers import (
    ELU,
    LAYER_CLASSES,
    BatchNormalization,
    Conv2D,
    Dense,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    LayerConfigError,
    ReLU,
    Reshape,
    Softmax,
    ZeroPadding2D,
    layer_from_config,
)
from model_export.model import Sequential
from model_export.nn.optimizers import get_optimizer

NEW_LAYERS = [
    BatchNormalization(momentum=0.9, epsilon=0.01, center=False),
    GlobalAveragePooling2D(), GlobalMaxPooling2D(),
    ReLU(max_value=6.0, negative_slope=0.1, threshold=0.5), ELU(0.7), Softmax(),
    ZeroPadding2D(((1, 2), (0, 3))), Reshape((4, -1)),
]


@pytest.mark.parametrize("layer", NEW_LAYERS, ids=lambda layer: type(layer).__name__)
def test_config_round_trip(layer):
    config = layer.get_config()
    again = layer_from_config({"class_name": type(layer).__name__, "config": config})
    assert type(again) is type(layer) is LAYER_CLASSES[type(layer).__name__]
    assert again.get_config() == config
    assert repr(again) == repr(layer)


@pytest.mark.parametrize("make, message", [
    (lambda: BatchNormalization(axis=1), "axis"), (lambda: BatchNormalization(epsilon=0), "epsilon"),
    (lambda: ReLU(negative_slope=-1), "negative_slope"), (lambda: Softmax(axis=1), "axis"),
    (lambda: ZeroPadding2D(-1), "padding"),
], ids=["bn-axis", "bn-epsilon", "relu-slope", "softmax-axis", "padding"])
def test_refuses_values_it_cannot_run(make, message):
    with pytest.raises(LayerConfigError, match=f"Invalid value for argument `{message}`"):
        make()


def test_batch_norm_trains_with_batch_statistics_and_moves_the_averages():
    layer = BatchNormalization(momentum=0.9)
    layer.build((3,), np.random.default_rng(0))
    x = np.random.default_rng(1).normal(5.0, 2.0, (64, 3)).astype(np.float32)
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(layer.weights["moving_mean"], 0.1 * x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(layer.weights["moving_variance"], 0.9 + 0.1 * x.var(axis=0),
                               rtol=1e-5)
    inference = layer.forward(x, training=False)
    expected = (x - layer.weights["moving_mean"]) / np.sqrt(
        layer.weights["moving_variance"] + 1e-3)
    np.testing.assert_allclose(inference, expected, rtol=1e-5)


def test_a_batchnorm_global_pooling_model_learns_and_keeps_moving_statistics_out_of_the_optimizer():
    rng = np.random.default_rng(2)
    model = Sequential([
        Conv2D(4, 3, padding="same", use_bias=False), BatchNormalization(momentum=0.5), ReLU(),
        GlobalAveragePooling2D(), Dense(2, activation="softmax")], input_shape=(6, 6, 1))
    assert len(model.parameters()) == 5  # kernel, gamma, beta, dense kernel, dense bias
    x = rng.uniform(0, 1, (32, 6, 6, 1)).astype(np.float32)
    labels = (x[:, :3].mean(axis=(1, 2, 3)) > x[:, 3:].mean(axis=(1, 2, 3))).astype(np.int64)
    optimizer = get_optimizer("adam", learning_rate=0.05)
    first = None
    for _ in range(60):
        loss, _ = model.train_step_gradients(x, labels)
        optimizer.apply(model.parameters(), model.gradients())
        first = loss if first is None else first
    assert loss < first * 0.5
    bn = model.layers[1]
    assert not np.allclose(bn.weights["moving_mean"], 0.0)  # moved by training forwards
