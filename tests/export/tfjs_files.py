"""Hand-built TF.js layers-model files for reader tests, independent of our writer.

`tiny_cnn()` gives (model_json, shards, weights): a small NHWC CNN as tfjs-layers writes it,
its shard bytes, and the float32 arrays it holds, so a test can break one thing at a time.
"""

from __future__ import annotations

import copy

import numpy as np

TINY_LAYERS = [
    {"class_name": "Conv2D", "config": {
        "name": "conv2d", "trainable": True, "batch_input_shape": [None, 8, 8, 1],
        "dtype": "float32", "filters": 4, "kernel_size": [3, 3], "strides": [1, 1],
        "padding": "same", "data_format": "channels_last", "dilation_rate": [1, 1],
        "activation": "relu", "use_bias": True,
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}},
        "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
        "kernel_constraint": None, "bias_constraint": None}},
    {"class_name": "MaxPooling2D", "config": {
        "name": "max_pooling2d", "trainable": True, "pool_size": [2, 2], "padding": "valid",
        "strides": [2, 2], "data_format": "channels_last"}},
    {"class_name": "Conv2D", "config": {
        "name": "conv2d_1", "trainable": True, "filters": 6, "kernel_size": [3, 3],
        "strides": [1, 1], "padding": "valid", "data_format": "channels_last",
        "dilation_rate": [1, 1], "activation": "linear", "use_bias": True}},
    {"class_name": "LeakyReLU", "config": {"name": "leaky_re_lu", "trainable": True, "alpha": 0.2}},
    {"class_name": "Flatten", "config": {"name": "flatten", "trainable": True,
                                         "data_format": "channels_last"}},
    {"class_name": "Dropout", "config": {"name": "dropout", "trainable": True, "rate": 0.25,
                                         "noise_shape": None, "seed": None}},
    {"class_name": "Dense", "config": {"name": "dense", "trainable": True, "units": 5,
                                       "activation": "linear", "use_bias": True}},
    {"class_name": "Activation", "config": {"name": "activation", "trainable": True,
                                            "activation": "softmax"}},
]
TINY_WEIGHTS = [("conv2d/kernel", (3, 3, 1, 4)), ("conv2d/bias", (4,)),
                ("conv2d_1/kernel", (3, 3, 4, 6)), ("conv2d_1/bias", (6,)),
                ("dense/kernel", (24, 5)), ("dense/bias", (5,))]


def tiny_weights(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(shape).astype(np.float32) for name, shape in TINY_WEIGHTS}


def model_json_for(layers: list, entries: list, paths: list[str]) -> dict:
    return {
        "format": "layers-model",
        "generatedBy": "hand-built test file",
        "convertedBy": None,
        "modelTopology": {"class_name": "Sequential",
                          "config": {"name": "sequential", "layers": copy.deepcopy(layers)},
                          "keras_version": "tfjs-layers 4.22.0", "backend": "tensor_flow.js"},
        "weightsManifest": [{"paths": paths, "weights": entries}],
    }


def tiny_cnn(seed: int = 0, shard_size: int | None = None,
             quantize: str | None = None) -> tuple[dict, dict[str, bytes], dict[str, np.ndarray]]:
    """model.json dict, {shard name: bytes}, {weight name: float32 array as stored}."""
    weights = tiny_weights(seed)
    entries, chunks = [], []
    for name, shape in TINY_WEIGHTS:
        value = weights[name]
        entry = {"name": name, "shape": list(shape), "dtype": "float32"}
        if quantize == "float16":
            entry["quantization"] = {"dtype": "float16"}
            chunks.append(value.astype("<f2").tobytes())
        elif quantize == "uint8":
            low, high = float(value.min()), float(value.max())
            scale = (high - low) / 255.0
            q = np.round((value.astype(np.float64) - low) / scale).astype(np.uint8)
            entry["quantization"] = {"dtype": "uint8", "min": low, "scale": scale}
            chunks.append(q.tobytes())
        else:
            chunks.append(value.astype("<f4").tobytes())
        entries.append(entry)
    data = b"".join(chunks)
    size = shard_size or len(data)
    pieces = [data[i:i + size] for i in range(0, len(data), size)]
    paths = [f"group1-shard{i + 1}of{len(pieces)}.bin" for i in range(len(pieces))]
    return model_json_for(TINY_LAYERS, entries, paths), dict(zip(paths, pieces)), weights
