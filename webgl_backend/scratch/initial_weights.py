"""A fresh model of a ladder rung, in the TF.js layers format, made in memory: the Keras
topology of its layers and seeded initial weights, so the page loads it through the same
reader as every other model (one path).

Initialisation is the numpy trainer's (`model_export.nn.init`, Keras's variance
scaling): every Dense and Conv2D kernel Glorot-uniform, limit sqrt(6 / (fan_in +
fan_out)), unless the layer names "he_uniform" (limit sqrt(6 / fan_in)); biases zero.
The draws come from `random.Random(seed)`, so one seed gives the same weights in
CPython and in Pyodide (not numpy's stream: the desktop draws differently, the
distribution is the same).
"""

from __future__ import annotations

import json
import math
import random
from array import array

from webgl_backend.ladder import MNIST_INPUT_SHAPE, weight_shapes
from webgl_backend.model_writer import SHARD_BYTES

KERAS_VERSION = "tfjs-layers 4.22.0"
GENERATED_BY = "shadernet scratch training (webgl_backend.scratch)"
NAME_PREFIXES = {"Dense": "dense", "Conv2D": "conv2d", "Flatten": "flatten",
                 "Dropout": "dropout"}
INITIALIZERS = {"glorot_uniform": "GlorotUniform", "he_uniform": "HeUniform"}

Weights = list[tuple[str, tuple[int, ...], array]]


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """Keras's compute_fans: a kernel (*window, in, out) has fan_in = prod(window) * in."""
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def uniform_limit(initializer: str, shape: tuple[int, ...]) -> float:
    fan_in, fan_out = _fans(shape)
    if initializer == "he_uniform":
        return math.sqrt(6.0 / max(1.0, fan_in))
    return math.sqrt(6.0 / max(1.0, fan_in + fan_out))


def _layer_config(layer: dict, name: str) -> dict:
    kind = layer["class_name"]
    config = {"name": name, "trainable": True, "dtype": "float32"}
    if kind == "Flatten":
        return {**config, "data_format": "channels_last"}
    if kind == "Dropout":
        return {**config, "rate": float(layer["rate"]), "noise_shape": None, "seed": None}
    if kind == "Conv2D":
        config.update(filters=layer["filters"], kernel_size=list(layer["kernel_size"]),
                      strides=list(layer["strides"]), padding=layer["padding"],
                      data_format="channels_last", dilation_rate=[1, 1], groups=1)
    elif kind == "Dense":
        config["units"] = layer["units"]
    else:
        raise ValueError(f"scratch model: no layer config for {kind!r}; the ladder uses "
                         f"{', '.join(NAME_PREFIXES)}")
    initializer = layer.get("kernel_initializer", "glorot_uniform")
    return {**config, "activation": layer["activation"], "use_bias": True,
            "kernel_initializer": {"class_name": INITIALIZERS[initializer],
                                   "config": {"seed": None}},
            "bias_initializer": {"class_name": "Zeros", "config": {}},
            "kernel_regularizer": None, "bias_regularizer": None,
            "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}


def layer_names(layers: list[dict]) -> list[str]:
    """Keras's automatic names: dense, dense_1, ... per class."""
    counts: dict[str, int] = {}
    names = []
    for layer in layers:
        prefix = NAME_PREFIXES.get(layer["class_name"], layer["class_name"].lower())
        index = counts.get(prefix, 0)
        counts[prefix] = index + 1
        names.append(prefix if index == 0 else f"{prefix}_{index}")
    return names


def topology(layers: list[dict], input_shape=MNIST_INPUT_SHAPE) -> dict:
    """The Keras Sequential topology of `layers` (the first carries batch_input_shape)."""
    configs = []
    for index, (layer, name) in enumerate(zip(layers, layer_names(layers))):
        config = _layer_config(layer, name)
        if index == 0:
            config = {"batch_input_shape": [None, *input_shape], **config}
        configs.append({"class_name": layer["class_name"], "config": config})
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": configs},
            "keras_version": KERAS_VERSION, "backend": "tensor_flow.js"}


def initial_weights(layers: list[dict], seed: int,
                    input_shape=MNIST_INPUT_SHAPE) -> Weights:
    """[(full name, shape, values)] in Keras order; kernels drawn layer by layer."""
    for layer in layers:
        initializer = layer.get("kernel_initializer", "glorot_uniform")
        if initializer not in INITIALIZERS:
            raise ValueError(f"scratch model: kernel_initializer {initializer!r} is not "
                             f"supported (supported: {', '.join(INITIALIZERS)})")
    rng = random.Random(seed)
    weights: Weights = []
    for layer, name, shapes in zip(layers, layer_names(layers),
                                   weight_shapes(layers, input_shape)):
        if not shapes:
            continue
        kernel_shape, bias_shape = shapes
        limit = uniform_limit(layer.get("kernel_initializer", "glorot_uniform"), kernel_shape)
        uniform = rng.uniform
        kernel = array("f", [uniform(-limit, limit) for _ in range(math.prod(kernel_shape))])
        weights.append((f"{name}/kernel", kernel_shape, kernel))
        weights.append((f"{name}/bias", bias_shape, array("f", bytes(4 * bias_shape[0]))))
    return weights


def model_files(layers: list[dict], weights: Weights,
                input_shape=MNIST_INPUT_SHAPE) -> tuple[str, dict[str, bytes]]:
    """(model.json text, {shard name: bytes}) of `layers` holding `weights`."""
    data = b"".join(values.tobytes() for _, _, values in weights)
    count = max(1, -(-len(data) // SHARD_BYTES))
    paths = [f"group1-shard{i + 1}of{count}.bin" for i in range(count)]
    shards = {path: data[i * SHARD_BYTES:(i + 1) * SHARD_BYTES] for i, path in enumerate(paths)}
    model_json = {
        "format": "layers-model", "generatedBy": GENERATED_BY, "convertedBy": GENERATED_BY,
        "modelTopology": topology(layers, input_shape),
        "weightsManifest": [{"paths": paths, "weights": [
            {"name": name, "shape": list(shape), "dtype": "float32"}
            for name, shape, _ in weights]}],
    }
    return json.dumps(model_json), shards
