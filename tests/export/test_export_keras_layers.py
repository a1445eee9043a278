"""Export of models with BatchNormalization, global pooling, ReLU/ELU/Softmax layers,
ZeroPadding2D and Reshape: the files round-trip through our reader bit for bit, and what
TF.js 4.22 could not compute the same way is refused."""

from __future__ import annotations

import numpy as np
import pytest

from model_export.export import ExportError, export_model
from model_export.exported import load_exported
from model_export.layers import (
    ELU,
    BatchNormalization,
    Conv2D,
    Dense,
    Flatten,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    ReLU,
    Reshape,
    Softmax,
    ZeroPadding2D,
)
from model_export.model import Sequential


def every_new_layer_model(seed: int = 3) -> Sequential:
    """Every layer class issue 11 adds, with non-trivial moving statistics."""
    model = Sequential([
        ZeroPadding2D(((1, 0), (2, 1))), Conv2D(6, 3, strides=2, use_bias=False),
        BatchNormalization(momentum=0.5), ReLU(max_value=1.5), Conv2D(8, 2), ELU(),
        Reshape((-1, 8)), Reshape((2, 4, 8)), GlobalMaxPooling2D(), Dense(12),
        BatchNormalization(center=False), Dense(10), Softmax(),
    ], input_shape=(7, 9, 1), seed=seed)
    x = np.random.default_rng(seed).uniform(0, 1, (16, 7, 9, 1)).astype(np.float32)
    for _ in range(3):  # move the averages off their (0, 1) start
        model.forward(x, training=True)
    return model


def test_round_trip_keeps_every_weight_and_prediction(tmp_path):
    model = every_new_layer_model()
    again = load_exported(export_model(model, tmp_path / "m"))
    for (name, ours), (name_again, theirs) in zip(model.get_weights(), again.get_weights()):
        assert name == name_again
        np.testing.assert_array_equal(ours, theirs)
    x = np.random.default_rng(4).uniform(0, 1, (5, 7, 9, 1)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(x), again.predict(x))
    assert any("moving_mean" in name for name, _ in again.get_weights())


def test_global_average_pooling_exports(tmp_path):
    model = Sequential([Conv2D(3, 3), GlobalAveragePooling2D(), Dense(10, activation="softmax")],
                       input_shape=(6, 6, 1))
    assert load_exported(export_model(model, tmp_path / "m")).output_shapes[-1] == (10,)


@pytest.mark.parametrize("layer, message", [
    (ReLU(negative_slope=0.1), "ReLU negative_slope 0.1 cannot be written: TF.js 4.22's ReLU "
                               "reads only max_value"),
    (ReLU(threshold=0.5), "ReLU threshold 0.5 cannot be written"),
    (ELU(0.5), "ELU alpha 0.5 cannot be written: TF.js 4.22 loads only alpha 1.0"),
], ids=["negative_slope", "threshold", "elu-alpha"])
def test_refuses_what_tfjs_would_compute_differently(layer, message, tmp_path):
    model = Sequential([Flatten(), layer, Dense(10, activation="softmax")], input_shape=(2, 2, 1))
    with pytest.raises(ExportError, match=message.replace(".", r"\.").replace("'", "'")):
        export_model(model, tmp_path / "m")
    assert not (tmp_path / "m").exists()
