"""The model a layer-table parity case runs: a trainable layer before the layer under test
(so its dx is needed and checked through that layer's update), the layer, then a softmax
Dense head (Flatten first for spatial outputs)."""

from __future__ import annotations

from model_export.layers import LAYER_CLASSES, Conv2D, Dense, Flatten
from model_export.model import Sequential
from webgl_backend.layers import LayerEntry, ParityCase

CLASSES = 3


def sample_model(entry: LayerEntry, case: ParityCase, seed: int = 0) -> Sequential:
    """The case's model; an InputLayer case is the same model without a layer under test
    (its model.json gets the explicit InputLayer, see `with_input_layer`)."""
    shape = case.input_shape
    before = Dense(shape[0], activation="tanh") if len(shape) == 1 else \
        Conv2D(shape[-1], 1, activation="tanh")
    layers = [before]
    if entry.class_name != "InputLayer":
        layers.append(LAYER_CLASSES[entry.class_name].from_config(
            {"name": "under_test", **case.config}))
    model = Sequential(layers, shape, seed=seed)
    head = [Flatten()] if len(model.output_shapes[-1]) > 1 else []
    return Sequential(layers + head + [Dense(CLASSES, activation="softmax")], shape, seed=seed)


def with_input_layer(model_json: dict) -> dict:
    """model.json with an explicit leading InputLayer, as Keras writes one."""
    layers = model_json["modelTopology"]["config"]["layers"]
    first = dict(layers[0]["config"])
    batch_input_shape = first.pop("batch_input_shape")
    input_layer = {"class_name": "InputLayer",
                   "config": {"batch_input_shape": batch_input_shape, "dtype": "float32",
                              "sparse": False, "name": "input_1"}}
    layers = [input_layer, {**layers[0], "config": first}] + layers[1:]
    topology = {**model_json["modelTopology"],
                "config": {**model_json["modelTopology"]["config"], "layers": layers}}
    return {**model_json, "modelTopology": topology}
