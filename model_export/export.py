"""Write a model in the TensorFlow.js layers format: `model.json` + `group1-shard{i}of{N}.bin`.

    export_model(model, "models/mnist")                       # float32, 4 MB shards
    export_model(model, "models/mnist-q", quantize="uint8")    # affine uint8 per weight

Layout, as tfjs-converter's `write_weights.py` writes it: every weight's bytes
(little-endian, row-major, Keras layouts so nothing is transposed) concatenated in
manifest order, then cut into shards of `shard_size_bytes` (the last one shorter).
Quantized weights keep `dtype: "float32"` and carry a `quantization` entry that TF.js and
`webgl_backend.model_format` decode: float16 as IEEE half, uint8 as `q * scale + min`.

Everything is checked first (names, dtypes, finiteness, float16 range), the files are
read back with our own reader while still in memory, and only then written
(`atomic_folder.write_folder`: an existing export is replaced whole or not at all).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from model_export.atomic_folder import ExportError, write_folder
from model_export.nn.activations import LEAKY_RELU_ALPHA
from webgl_backend.errors import ModelFormatError
from webgl_backend.model_format import MAX_SHARDS, read_model

DEFAULT_SHARD_SIZE = 4 * 1024 * 1024  # the largest file every major browser caches
QUANTIZATIONS = ("float16", "uint8")
GENERATED_BY = "shadernet 0.1.0"
CONVERTED_BY = "shadernet export"
KERAS_VERSION = "tfjs-layers 4.22.0"
BACKEND = "tensor_flow.js"
FLOAT16_MAX = float(np.finfo(np.float16).max)


# ----------------------------------------------------------------------------- quantization

def quantize_uint8(values: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Affine uint8 as tfjs-converter's `quantize_weights`: returns (q, min, scale).

    value ~= q * scale + min. When the range spans 0, min is nudged so that 0.0 is exactly
    representable (zero padding stays zero). A constant tensor becomes all-zero codes with
    scale 1.0 and min = the constant, so it comes back exactly.
    """
    low, high = float(values.min()), float(values.max())
    if low == high:
        return np.zeros(values.shape, np.uint8), low, 1.0
    scale = (high - low) / 255.0
    if low <= 0.0 <= high:
        zero_point = float(np.round(-low / scale))
        low = -zero_point * scale
        high = 255.0 * scale + low
    codes = np.round((values.astype(np.float64).clip(low, high) - low) / scale)
    return codes.astype(np.uint8), low, scale


def dequantize_uint8(codes: np.ndarray, minimum: float, scale: float) -> np.ndarray:
    """What TF.js computes: q * scale + min in double, stored as float32."""
    return (codes.astype(np.float64) * scale + minimum).astype(np.float32)


# ----------------------------------------------------------------------------- building

def build_files(model, shard_size_bytes: int = DEFAULT_SHARD_SIZE,
                quantize: str | None = None) -> tuple[dict, dict[str, bytes]]:
    """(model.json dict, {shard name: bytes}) for `model`, validated, nothing written."""
    _check_options(shard_size_bytes, quantize)
    _check_tfjs_runs(model)
    weights = model.get_weights()
    _check_weights(weights)
    entries, chunks = [], []
    for name, value in weights:
        entry, data = _encode(name, value, quantize)
        entries.append(entry)
        chunks.append(data)
    blob = b"".join(chunks)
    count = -(-len(blob) // shard_size_bytes)
    if count > MAX_SHARDS:
        raise ExportError(f"export: {len(blob)} bytes in shards of {shard_size_bytes} would make "
                          f"{count} files, over the reader's limit of {MAX_SHARDS}; use a larger "
                          "--shard-size")
    paths = [f"group1-shard{i + 1}of{count}.bin" for i in range(count)]
    shards = {path: blob[i * shard_size_bytes:(i + 1) * shard_size_bytes]
              for i, path in enumerate(paths)}
    model_json = {
        "format": "layers-model",
        "generatedBy": GENERATED_BY,
        "convertedBy": CONVERTED_BY,
        "modelTopology": {"class_name": "Sequential",
                          "config": split_leaky_relu_activations(model.get_config()),
                          "keras_version": KERAS_VERSION, "backend": BACKEND},
        "weightsManifest": [{"paths": paths, "weights": entries}],
    }
    try:  # the same checks the browser runs, before a byte is written
        read_model(model_json, shards)
    except ModelFormatError as error:
        raise ExportError(f"export: the model cannot be written in the TF.js layers format: "
                          f"{error}") from error
    return model_json, shards


def _check_tfjs_runs(model) -> None:
    """Refuse settings TF.js 4.22 would load but not compute (its ReLU layer reads only
    max_value) or refuse to load (ELU with alpha != 1): the files must mean one thing."""
    for index, layer in enumerate(model.layers):
        config = layer.get_config()
        if type(layer).__name__ == "ReLU":
            for key in ("negative_slope", "threshold"):
                if config[key] != 0.0:
                    raise ExportError(f"export: layers[{index}] '{layer.name}': ReLU {key} "
                                      f"{config[key]} cannot be written: TF.js 4.22's ReLU "
                                      "reads only max_value (supported: negative_slope 0, "
                                      "threshold 0)")
        if type(layer).__name__ == "ELU" and config["alpha"] != 1.0:
            raise ExportError(f"export: layers[{index}] '{layer.name}': ELU alpha "
                              f"{config['alpha']} cannot be written: TF.js 4.22 loads only "
                              "alpha 1.0")


def split_leaky_relu_activations(config: dict) -> dict:
    """A Sequential config in which `activation="leaky_relu"` becomes a LeakyReLU layer.

    tfjs-layers has no "leaky_relu" activation string, only the LeakyReLU layer, so
    Dense/Conv2D(activation="leaky_relu") is written as the layer with a linear activation
    followed by LeakyReLU(alpha=0.3), the numpy activation's slope; same function, same
    weights, and the runtime fuses the pair back into one draw.
    """
    names = {layer["config"]["name"] for layer in config["layers"]}
    layers = []
    for layer in config["layers"]:
        layers.append(layer)
        if layer["config"].get("activation") != "leaky_relu":
            continue
        layers[-1] = {**layer, "config": {**layer["config"], "activation": "linear"}}
        name = f"{layer['config']['name']}_leaky_re_lu"
        while name in names:
            name += "_"
        names.add(name)
        layers.append({"class_name": "LeakyReLU",
                       "config": {"name": name, "trainable": True, "dtype": "float32",
                                  "alpha": LEAKY_RELU_ALPHA}})
    return {**config, "layers": layers}


def _check_options(shard_size_bytes, quantize) -> None:
    if isinstance(shard_size_bytes, bool) or not isinstance(shard_size_bytes, int) \
            or shard_size_bytes <= 0:
        raise ExportError(f"export: shard size must be a positive number of bytes, "
                          f"got {shard_size_bytes!r}")
    if quantize is not None and quantize not in QUANTIZATIONS:
        raise ExportError(f"export: unknown quantization {quantize!r}; expected one of "
                          f"{', '.join(QUANTIZATIONS)} or none")


def _check_weights(weights: list[tuple[str, np.ndarray]]) -> None:
    seen: set[str] = set()
    for name, value in weights:
        if not isinstance(name, str) or not re.fullmatch(r"[^/\s]+/[^/\s]+", name):
            raise ExportError(f"export: weight name {name!r} is not 'layer_name/weight_name'")
        if name in seen:
            raise ExportError(f"export: two weights are named '{name}'")
        seen.add(name)
        if not isinstance(value, np.ndarray) or value.dtype != np.float32:
            dtype = getattr(value, "dtype", type(value).__name__)
            raise ExportError(f"export: weight '{name}' has dtype {dtype}, expected float32")
        if not np.all(np.isfinite(value)):
            flat = int(np.flatnonzero(~np.isfinite(value))[0])
            index = tuple(int(i) for i in np.unravel_index(flat, value.shape))
            raise ExportError(f"export: weight '{name}' holds {value.flat[flat]} at index "
                              f"{index}; refusing to write non-finite weights")


def _encode(name: str, value: np.ndarray, quantize: str | None) -> tuple[dict, bytes]:
    entry = {"name": name, "shape": [int(d) for d in value.shape], "dtype": "float32"}
    if quantize is None:
        return entry, value.astype("<f4", copy=False).tobytes()
    if quantize == "float16":
        peak = float(np.abs(value).max()) if value.size else 0.0
        if peak > FLOAT16_MAX:
            raise ExportError(f"export: weight '{name}' has values up to {peak:g}, beyond "
                              f"float16's range ({FLOAT16_MAX:g}); export it without "
                              "--quantize float16")
        entry["quantization"] = {"dtype": "float16", "original_dtype": "float32"}
        return entry, value.astype("<f2").tobytes()
    if value.size == 0:
        codes, minimum, scale = np.zeros(value.shape, np.uint8), 0.0, 1.0
    else:
        codes, minimum, scale = quantize_uint8(value)
    entry["quantization"] = {"dtype": "uint8", "min": minimum, "scale": scale,
                             "original_dtype": "float32"}
    return entry, codes.tobytes()


# ----------------------------------------------------------------------------- writing

def export_model(model, out_dir, shard_size_bytes: int = DEFAULT_SHARD_SIZE,
                 quantize: str | None = None) -> Path:
    """Write `model` to `out_dir` (model.json + shards), replacing an earlier export whole."""
    model_json, shards = build_files(model, shard_size_bytes, quantize)
    files = {"model.json": json.dumps(model_json, allow_nan=False).encode("utf-8"), **shards}
    return write_folder(Path(out_dir), files)
