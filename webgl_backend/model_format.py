"""Read a TensorFlow.js layers model (`model.json` + weight shards) and validate all of it.

Standard library only: the same module runs in CPython and, unchanged, in Pyodide, where
the page fetches the files itself (`shard_paths`) and hands the bytes to `read_model`.

What is accepted is what tfjs-layers writes for a Keras `Sequential` of Dense, Conv2D,
MaxPooling2D, AveragePooling2D, Flatten, Dropout, Activation, LeakyReLU (and a leading
InputLayer), NHWC, with float32 weights stored as float32, float16 or affine uint8
(`quantization: {"dtype": "uint8", "min": m, "scale": s}`, value = q * scale + min), as
tfjs-converter's `write_weights.py` writes them.

Everything is checked before anything is returned, so a bad file loads nothing: fields,
layer classes and activations, each layer's output shape chained from the input shape,
every weight's name, order and shape against the topology, shard lengths, byte totals,
and finiteness of every weight value. Each error is a `ModelFormatError` naming the file,
the field and what was expected, e.g.
`model.json: layers[2] 'conv2d_1': weight 'conv2d_1/kernel' needs 288 floats, shards hold 256`.

Layouts are Keras's: Dense kernel (in, units), Conv2D kernel (kh, kw, cin, filters),
activations NHWC, Flatten in NHWC order.
"""

from __future__ import annotations

import array
import json
import math
import os
import re
import struct
import sys
from dataclasses import dataclass, field

from webgl_backend.errors import ModelFormatError

# ----------------------------------------------------------------------------- limits

MAX_MODEL_JSON_BYTES = 16 * 1024 * 1024
MAX_WEIGHT_FLOATS = 64 * 1024 * 1024        # all weights of a model together
MAX_ACTIVATION_FLOATS = 16 * 1024 * 1024    # one sample's input or any layer's output
MAX_LAYERS = 1024
MAX_WEIGHT_RANK = 8
MAX_INPUT_RANK = 4
MAX_SHARDS = 4096
MAX_NAME_LENGTH = 256

FORMAT = "layers-model"
REQUIRED_FIELDS = ("format", "generatedBy", "convertedBy", "modelTopology", "weightsManifest")
# Written by TF.js's own `model.save()`; accepted and ignored.
OPTIONAL_FIELDS = ("trainingConfig", "userDefinedMetadata", "signature")
TOPOLOGY_REQUIRED = ("class_name", "config")
TOPOLOGY_OPTIONAL = ("keras_version", "backend")

ACTIVATIONS = ("linear", "relu", "elu", "sigmoid", "tanh", "softmax")
PADDINGS = ("valid", "same")
LAYER_CLASSES = ("InputLayer", "Dense", "Conv2D", "MaxPooling2D", "AveragePooling2D",
                 "Flatten", "Dropout", "Activation", "LeakyReLU")
QUANTIZATION_BYTES = {"float16": 2, "uint8": 1}
LEAKY_RELU_DEFAULT_ALPHA = 0.3  # Keras 2 and tfjs-layers
SHARD_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")

_COMMON_KEYS = frozenset({"name", "trainable", "dtype", "batch_input_shape"})
# Training-time settings: accepted (null or {class_name, config}), unused at inference.
_PARAMETER_KEYS = frozenset({"kernel_initializer", "bias_initializer", "kernel_regularizer",
                             "bias_regularizer", "activity_regularizer", "kernel_constraint",
                             "bias_constraint"})
_POOL_KEYS = frozenset({"pool_size", "strides", "padding", "data_format"})
_CLASS_KEYS = {
    "InputLayer": frozenset({"batch_input_shape", "dtype", "sparse", "ragged", "name"}),
    "Dense": _COMMON_KEYS | _PARAMETER_KEYS | {"units", "activation", "use_bias"},
    "Conv2D": _COMMON_KEYS | _PARAMETER_KEYS | {"filters", "kernel_size", "strides", "padding",
                                                "data_format", "dilation_rate", "groups",
                                                "activation", "use_bias"},
    "MaxPooling2D": _COMMON_KEYS | _POOL_KEYS,
    "AveragePooling2D": _COMMON_KEYS | _POOL_KEYS,
    "Flatten": _COMMON_KEYS | {"data_format"},
    "Dropout": _COMMON_KEYS | {"rate", "noise_shape", "seed"},
    "Activation": _COMMON_KEYS | {"activation"},
    "LeakyReLU": _COMMON_KEYS | {"alpha"},
}


# ----------------------------------------------------------------------------- results

@dataclass(frozen=True)
class WeightEntry:
    """One `weightsManifest` entry: full name ("conv2d/kernel"), shape, stored dtype."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    quantization: dict | None


@dataclass
class LayerSpec:
    """One layer, ready to build: `config` has every default filled in (see `read_model`).

    `weights` are (full name, shape, float32 values) in Keras order (kernel, bias), values
    dequantized and flat in row-major order of `shape`. Shapes exclude the batch axis.
    """

    class_name: str
    name: str
    config: dict
    weights: list[tuple[str, tuple[int, ...], array.array]]
    input_shape: tuple[int, ...] = ()
    output_shape: tuple[int, ...] = ()


@dataclass
class ModelArtifacts:
    """A fully validated model: input shape (no batch axis), layers, and the parsed JSON."""

    input_shape: tuple[int, ...]
    layers: list[LayerSpec]
    model_json: dict
    weight_entries: list[WeightEntry] = field(default_factory=list)


@dataclass
class _LayerPlan:
    index: int
    class_name: str
    name: str
    config: dict
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    weights: list[tuple[str, tuple[int, ...], str]]  # (full name, expected shape, why)


@dataclass
class _Plan:
    input_shape: tuple[int, ...]
    layers: list[_LayerPlan]
    groups: list[tuple[list[str], list[WeightEntry]]]


# ----------------------------------------------------------------------------- helpers

def _fail(message: str) -> ModelFormatError:
    return ModelFormatError(message)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _product(shape) -> int:
    result = 1
    for dim in shape:
        result *= dim
    return result


def _fmt_shape(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _json(value) -> str:
    """A value as it appears in model.json (null, not None), for messages."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _reject_constant(name: str):
    raise _fail(f"model.json: {name} is not valid JSON (use finite numbers)")


def _no_duplicate_keys(pairs: list) -> dict:
    result = {}
    for key, value in pairs:
        if key in result:
            raise _fail(f"model.json: duplicate key '{key}' in one object")
        result[key] = value
    return result


def _check_fields(obj, where: str, required, optional=()) -> None:
    if not isinstance(obj, dict):
        raise _fail(f"model.json: {where} must be an object, got {type(obj).__name__}")
    for key in required:
        if key not in obj:
            raise _fail(f"model.json: {where} is missing field '{key}' "
                        f"(expected fields: {', '.join(required)})")
    allowed = set(required) | set(optional)
    for key in obj:
        if key not in allowed:
            raise _fail(f"model.json: {where} has unexpected field '{key}' "
                        f"(allowed: {', '.join(list(required) + list(optional))})")


# ----------------------------------------------------------------------------- parsing

def parse_model_json(data: bytes | str) -> dict:
    """Parse and fully validate model.json (topology, shapes, manifest); return the dict."""
    model_json = _load_json(data)
    _plan(model_json)
    return model_json


def shard_paths(model_json: dict) -> list[str]:
    """Every shard file name in the order the manifest lists them (all groups)."""
    return [path for paths, _ in _plan(model_json).groups for path in paths]


def _load_json(data: bytes | str) -> dict:
    if isinstance(data, (bytes, bytearray, memoryview)):
        if len(data) > MAX_MODEL_JSON_BYTES:
            raise _fail(f"model.json: {len(data)} bytes, over the limit of "
                        f"{MAX_MODEL_JSON_BYTES} (MAX_MODEL_JSON_BYTES)")
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as error:
            raise _fail(f"model.json: not UTF-8 text ({error.reason} at byte "
                        f"{error.start})") from None
    if not isinstance(data, str):
        raise _fail(f"model.json: expected bytes or text, got {type(data).__name__}")
    if len(data) > MAX_MODEL_JSON_BYTES:
        raise _fail(f"model.json: {len(data)} characters, over the limit of {MAX_MODEL_JSON_BYTES}")
    try:
        model_json = json.loads(data, object_pairs_hook=_no_duplicate_keys,
                                parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise _fail(f"model.json: not JSON ({error.msg} at line {error.lineno} "
                    f"column {error.colno})") from None
    except RecursionError:
        raise _fail("model.json: not JSON we accept (nested too deeply)") from None
    if not isinstance(model_json, dict):
        raise _fail(f"model.json: the top level must be an object, got {type(model_json).__name__}")
    return model_json


def _plan(model_json: dict) -> _Plan:
    _check_fields(model_json, "the top level", REQUIRED_FIELDS, OPTIONAL_FIELDS)
    if model_json["format"] != FORMAT:
        raise _fail(f"model.json: format is {model_json['format']!r}, expected '{FORMAT}'")
    if not isinstance(model_json["generatedBy"], str):
        raise _fail("model.json: generatedBy must be a string")
    if model_json["convertedBy"] is not None and not isinstance(model_json["convertedBy"], str):
        raise _fail("model.json: convertedBy must be a string or null")
    input_shape, layers = _plan_topology(model_json["modelTopology"])
    groups = _parse_manifest(model_json["weightsManifest"])
    _match_manifest(layers, groups)
    return _Plan(input_shape, layers, groups)


# ----------------------------------------------------------------------------- topology

def _plan_topology(topology) -> tuple[tuple[int, ...], list[_LayerPlan]]:
    _check_fields(topology, "modelTopology", TOPOLOGY_REQUIRED, TOPOLOGY_OPTIONAL)
    if topology["class_name"] != "Sequential":
        raise _fail(f"model.json: modelTopology.class_name is {topology['class_name']!r}, "
                    "expected 'Sequential' (only Sequential models are supported)")
    for key in TOPOLOGY_OPTIONAL:
        if key in topology and not isinstance(topology[key], str):
            raise _fail(f"model.json: modelTopology.{key} must be a string")
    config = topology["config"]
    _check_fields(config, "modelTopology.config", ("name", "layers"))
    layers = config["layers"]
    if not isinstance(layers, list) or not layers:
        raise _fail("model.json: modelTopology.config.layers must be a non-empty list")
    if len(layers) > MAX_LAYERS:
        raise _fail(f"model.json: {len(layers)} layers, over the limit of {MAX_LAYERS}")
    input_shape = _model_input_shape(layers)
    plans: list[_LayerPlan] = []
    names: set[str] = set()
    shape = input_shape
    for index, entry in enumerate(layers):
        plan = _plan_layer(index, entry, shape)
        if plan.name in names:
            raise _fail(f"model.json: layers[{index}]: layer name '{plan.name}' is used twice")
        names.add(plan.name)
        plans.append(plan)
        shape = plan.output_shape
    return input_shape, plans


def _model_input_shape(layers: list) -> tuple[int, ...]:
    first = layers[0]
    config = first.get("config") if isinstance(first, dict) else None
    if not isinstance(config, dict) or "batch_input_shape" not in config:
        raise _fail("model.json: layers[0]: config has no 'batch_input_shape' "
                    "(the first layer must declare [null, ...input dims])")
    return _batch_input_shape(config["batch_input_shape"], "layers[0]")


def _batch_input_shape(value, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) < 2 or value[0] is not None:
        raise _fail(f"model.json: {where}: batch_input_shape must be [null, d1, ...], "
                    f"got {_json(value)}")
    dims = value[1:]
    if len(dims) > MAX_INPUT_RANK:
        raise _fail(f"model.json: {where}: batch_input_shape has {len(dims)} dims after the batch, "
                    f"at most {MAX_INPUT_RANK} are supported")
    for dim in dims:
        if not _is_int(dim) or dim <= 0:
            raise _fail(f"model.json: {where}: batch_input_shape {_json(value)} has dimension "
                        f"{dim!r}; expected positive integers after null")
    if _product(dims) > MAX_ACTIVATION_FLOATS:
        raise _fail(f"model.json: {where}: batch_input_shape {_json(value)} holds {_product(dims)} "
                    f"values per sample, over the limit of {MAX_ACTIVATION_FLOATS}")
    return tuple(dims)


def _plan_layer(index: int, entry, input_shape: tuple[int, ...]) -> _LayerPlan:
    where = f"layers[{index}]"
    _check_fields(entry, where, ("class_name", "config"))
    class_name, config = entry["class_name"], entry["config"]
    if class_name not in LAYER_CLASSES:
        raise _fail(f"model.json: {where}: unknown layer class {class_name!r} "
                    f"(supported: {', '.join(LAYER_CLASSES)})")
    if not isinstance(config, dict):
        raise _fail(f"model.json: {where} {class_name}: config must be an object")
    name = config.get("name")
    if not isinstance(name, str) or not name or len(name) > MAX_NAME_LENGTH:
        raise _fail(f"model.json: {where} {class_name}: config.name must be a non-empty string "
                    f"of at most {MAX_NAME_LENGTH} characters, got {name!r}")
    where = f"{where} '{name}'"
    for key in config:
        if key not in _CLASS_KEYS[class_name]:
            raise _fail(f"model.json: {where}: unexpected config key '{key}' for {class_name} "
                        f"(allowed: {', '.join(sorted(_CLASS_KEYS[class_name]))})")
    _check_common(where, index, class_name, config, input_shape)
    builder = _BUILDERS[class_name]
    normalized, output_shape, weights = builder(where, config, input_shape)
    if _product(output_shape) > MAX_ACTIVATION_FLOATS:
        raise _fail(f"model.json: {where}: output shape {_fmt_shape(output_shape)} holds "
                    f"{_product(output_shape)} values per sample, over the limit of "
                    f"{MAX_ACTIVATION_FLOATS}")
    return _LayerPlan(index, class_name, name, normalized, input_shape, output_shape,
                      [(f"{name}/{short}", shape, why) for short, shape, why in weights])


def _check_common(where: str, index: int, class_name: str, config: dict,
                  input_shape: tuple[int, ...]) -> None:
    if class_name == "InputLayer" and index != 0:
        raise _fail(f"model.json: {where}: an InputLayer may only be layers[0]")
    if "batch_input_shape" in config and index != 0:
        # Keras writes it on the first real layer too when an InputLayer leads; it must agree.
        declared = _batch_input_shape(config["batch_input_shape"], where)
        if index != 1 or declared != input_shape:
            raise _fail(f"model.json: {where}: batch_input_shape "
                        f"{_json(config['batch_input_shape'])} on a layer that is not the first "
                        f"(its input is {_fmt_shape(input_shape)})")
    if "trainable" in config and not isinstance(config["trainable"], bool):
        raise _fail(f"model.json: {where}: trainable must be true or false, "
                    f"got {config['trainable']!r}")
    if config.get("dtype") not in (None, "float32"):
        raise _fail(f"model.json: {where}: dtype {config['dtype']!r} is not supported "
                    "(expected 'float32')")
    for key in _PARAMETER_KEYS & config.keys():
        value = config[key]
        if value is not None and not (isinstance(value, dict) and "class_name" in value):
            raise _fail(f"model.json: {where}: {key} must be null or "
                        f"{{\"class_name\": ..., \"config\": ...}}, got {value!r}")


# --- per-class builders: (where, config, input_shape) -> (normalized config, output, weights)

def _activation(where: str, config: dict, default: str | None = "linear") -> str:
    value = config.get("activation", default)
    if value not in ACTIVATIONS:
        raise _fail(f"model.json: {where}: unknown activation {value!r} "
                    f"(supported: {', '.join(ACTIVATIONS)})")
    return value


def _bool(where: str, config: dict, key: str, default: bool) -> bool:
    value = config.get(key, default)
    if not isinstance(value, bool):
        raise _fail(f"model.json: {where}: {key} must be true or false, got {value!r}")
    return value


def _positive_int(where: str, config: dict, key: str) -> int:
    if key not in config:
        raise _fail(f"model.json: {where}: config is missing '{key}'")
    value = config[key]
    if not _is_int(value) or value <= 0:
        raise _fail(f"model.json: {where}: {key} must be a positive integer, got {value!r}")
    return value


def _pair(where: str, config: dict, key: str, default) -> list[int]:
    """An int or a list of 2 positive ints, as Keras writes kernel_size/strides/pool_size."""
    value = config.get(key)
    if value is None:
        value = default
    if _is_int(value):
        value = [value, value]
    if (not isinstance(value, list) or len(value) != 2
            or not all(_is_int(v) and v > 0 for v in value)):
        raise _fail(f"model.json: {where}: {key} must be a positive integer or a list of 2, "
                    f"got {config.get(key)!r}")
    return list(value)


def _padding(where: str, config: dict) -> str:
    value = config.get("padding", "valid")
    if value not in PADDINGS:
        raise _fail(f"model.json: {where}: padding {value!r} is not supported "
                    "(expected 'valid' or 'same')")
    return value


def _channels_last(where: str, config: dict) -> str:
    value = config.get("data_format")
    if value not in (None, "channels_last"):
        raise _fail(f"model.json: {where}: data_format {value!r} is not supported "
                    "(expected 'channels_last', NHWC)")
    return "channels_last"


def _spatial_input(where: str, class_name: str, input_shape: tuple[int, ...]) -> None:
    if len(input_shape) != 3:
        raise _fail(f"model.json: {where}: {class_name} needs an input of shape (h, w, c), "
                    f"got {_fmt_shape(input_shape)}")


def _window_out(where: str, size: int, k: int, stride: int, padding: str, what: str) -> int:
    if padding == "same":
        return -(-size // stride)
    if k > size:
        raise _fail(f"model.json: {where}: {what} {k} does not fit the input size {size} "
                    "with padding 'valid'")
    return (size - k) // stride + 1


def _common_out(config: dict) -> dict:
    out = {"name": config["name"], "trainable": config.get("trainable", True)}
    if "batch_input_shape" in config:
        out["batch_input_shape"] = list(config["batch_input_shape"])
    return out


def _build_input_layer(where, config, input_shape):
    for key, default in (("sparse", False), ("ragged", False)):
        if config.get(key, default) is not False:
            raise _fail(f"model.json: {where}: InputLayer {key}={config[key]!r} is not supported")
    normalized = {"name": config["name"], "batch_input_shape": [None, *input_shape],
                  "dtype": "float32"}
    return normalized, input_shape, []


def _build_dense(where, config, input_shape):
    units = _positive_int(where, config, "units")
    activation = _activation(where, config)
    use_bias = _bool(where, config, "use_bias", True)
    normalized = {**_common_out(config), "units": units, "activation": activation,
                  "use_bias": use_bias,
                  **{k: config[k] for k in sorted(_PARAMETER_KEYS & config.keys())}}
    features = input_shape[-1]
    weights = [("kernel", (features, units),
                f"input features {features} from input {_fmt_shape(input_shape)}, units {units}")]
    if use_bias:
        weights.append(("bias", (units,), f"units {units}"))
    return normalized, input_shape[:-1] + (units,), weights


def _build_conv2d(where, config, input_shape):
    _spatial_input(where, "Conv2D", input_shape)
    filters = _positive_int(where, config, "filters")
    if "kernel_size" not in config:
        raise _fail(f"model.json: {where}: config is missing 'kernel_size'")
    kernel_size = _pair(where, config, "kernel_size", None)
    strides = _pair(where, config, "strides", [1, 1])
    padding = _padding(where, config)
    data_format = _channels_last(where, config)
    if _pair(where, config, "dilation_rate", [1, 1]) != [1, 1]:
        raise _fail(f"model.json: {where}: dilation_rate {config['dilation_rate']!r} is not "
                    "supported (expected 1)")
    if config.get("groups", 1) != 1:
        raise _fail(f"model.json: {where}: groups {config['groups']!r} is not supported "
                    "(expected 1)")
    activation = _activation(where, config)
    use_bias = _bool(where, config, "use_bias", True)
    h, w, cin = input_shape
    out_h = _window_out(where, h, kernel_size[0], strides[0], padding, "kernel height")
    out_w = _window_out(where, w, kernel_size[1], strides[1], padding, "kernel width")
    normalized = {**_common_out(config), "filters": filters, "kernel_size": kernel_size,
                  "strides": strides, "padding": padding, "data_format": data_format,
                  "dilation_rate": [1, 1], "activation": activation, "use_bias": use_bias,
                  **{k: config[k] for k in sorted(_PARAMETER_KEYS & config.keys())}}
    weights = [("kernel", (kernel_size[0], kernel_size[1], cin, filters),
                f"kernel_size {kernel_size}, input channels {cin} from input "
                f"{_fmt_shape(input_shape)}, filters {filters}")]
    if use_bias:
        weights.append(("bias", (filters,), f"filters {filters}"))
    return normalized, (out_h, out_w, filters), weights


def _build_pool(class_name):
    def build(where, config, input_shape):
        _spatial_input(where, class_name, input_shape)
        pool_size = _pair(where, config, "pool_size", [2, 2])
        strides = _pair(where, config, "strides", pool_size)  # Keras: strides None = pool_size
        padding = _padding(where, config)
        data_format = _channels_last(where, config)
        h, w, c = input_shape
        out_h = _window_out(where, h, pool_size[0], strides[0], padding, "pool height")
        out_w = _window_out(where, w, pool_size[1], strides[1], padding, "pool width")
        normalized = {**_common_out(config), "pool_size": pool_size, "strides": strides,
                      "padding": padding, "data_format": data_format}
        return normalized, (out_h, out_w, c), []
    return build


def _build_flatten(where, config, input_shape):
    data_format = _channels_last(where, config)
    return ({**_common_out(config), "data_format": data_format},
            (_product(input_shape),), [])


def _build_dropout(where, config, input_shape):
    rate = config.get("rate")
    if not _is_number(rate) or not 0.0 <= rate < 1.0:
        raise _fail(f"model.json: {where}: rate must be a number in [0, 1), got {rate!r}")
    if config.get("noise_shape") is not None:
        raise _fail(f"model.json: {where}: noise_shape {config['noise_shape']!r} is not "
                    "supported (expected null)")
    seed = config.get("seed")
    if seed is not None and not _is_int(seed):
        raise _fail(f"model.json: {where}: seed must be an integer or null, got {seed!r}")
    return {**_common_out(config), "rate": rate, "noise_shape": None, "seed": seed}, input_shape, []


def _build_activation(where, config, input_shape):
    if "activation" not in config:
        raise _fail(f"model.json: {where}: config is missing 'activation'")
    activation = _activation(where, config)
    return {**_common_out(config), "activation": activation}, input_shape, []


def _build_leaky_relu(where, config, input_shape):
    alpha = config.get("alpha", LEAKY_RELU_DEFAULT_ALPHA)
    if not _is_number(alpha):
        raise _fail(f"model.json: {where}: alpha must be a finite number, got {alpha!r}")
    return {**_common_out(config), "alpha": alpha}, input_shape, []


_BUILDERS = {
    "InputLayer": _build_input_layer,
    "Dense": _build_dense,
    "Conv2D": _build_conv2d,
    "MaxPooling2D": _build_pool("MaxPooling2D"),
    "AveragePooling2D": _build_pool("AveragePooling2D"),
    "Flatten": _build_flatten,
    "Dropout": _build_dropout,
    "Activation": _build_activation,
    "LeakyReLU": _build_leaky_relu,
}


# ----------------------------------------------------------------------------- manifest

def _parse_manifest(manifest) -> list[tuple[list[str], list[WeightEntry]]]:
    if not isinstance(manifest, list):
        raise _fail(f"model.json: weightsManifest must be a list of groups, "
                    f"got {type(manifest).__name__}")
    groups = []
    seen_paths: set[str] = set()
    total_floats = 0
    for g, group in enumerate(manifest):
        where = f"weightsManifest[{g}]"
        _check_fields(group, where, ("paths", "weights"))
        paths, weights = group["paths"], group["weights"]
        if not isinstance(paths, list) or not isinstance(weights, list):
            raise _fail(f"model.json: {where}: paths and weights must be lists")
        for p, path in enumerate(paths):
            if (not isinstance(path, str) or not SHARD_NAME.match(path)
                    or len(path) > MAX_NAME_LENGTH):
                raise _fail(f"model.json: {where}.paths[{p}]: {path!r} is not a plain file name "
                            "(letters, digits, '.', '_', '-'; no folders)")
            if path in seen_paths:
                raise _fail(f"model.json: {where}.paths[{p}]: shard '{path}' is listed twice")
            seen_paths.add(path)
        if len(seen_paths) > MAX_SHARDS:
            raise _fail(f"model.json: {len(seen_paths)} shards, over the limit of {MAX_SHARDS}")
        if weights and not paths:
            raise _fail(f"model.json: {where}: lists weights but no shard paths")
        entries = [_parse_entry(f"{where}.weights[{w}]", entry) for w, entry in enumerate(weights)]
        for entry in entries:
            total_floats += _product(entry.shape)
        if total_floats > MAX_WEIGHT_FLOATS:
            raise _fail(f"model.json: weightsManifest declares over {total_floats} weight "
                        f"values, over the limit of {MAX_WEIGHT_FLOATS} (MAX_WEIGHT_FLOATS)")
        groups.append((list(paths), entries))
    return groups


def _parse_entry(where: str, entry) -> WeightEntry:
    _check_fields(entry, where, ("name", "shape", "dtype"), ("quantization",))
    name, shape, dtype = entry["name"], entry["shape"], entry["dtype"]
    if not isinstance(name, str) or not name:
        raise _fail(f"model.json: {where}: name must be a non-empty string, got {name!r}")
    where = f"{where} '{name}'"
    if not isinstance(shape, list) or len(shape) > MAX_WEIGHT_RANK:
        raise _fail(f"model.json: {where}: shape must be a list of at most "
                    f"{MAX_WEIGHT_RANK} integers, got {shape!r}")
    for dim in shape:
        if not _is_int(dim):
            raise _fail(f"model.json: {where}: shape {shape!r} has non-integer dimension {dim!r}")
        if dim < 0:
            raise _fail(f"model.json: {where}: shape {shape!r} has negative dimension {dim}")
    if _product(shape) > MAX_WEIGHT_FLOATS:
        raise _fail(f"model.json: {where}: shape {shape!r} declares {_product(shape)} values, "
                    f"over the limit of {MAX_WEIGHT_FLOATS} (MAX_WEIGHT_FLOATS)")
    if dtype != "float32":
        raise _fail(f"model.json: {where}: dtype {dtype!r} is not supported (expected 'float32', "
                    "optionally stored quantized)")
    quantization = entry.get("quantization")
    if quantization is not None:
        quantization = _parse_quantization(where, quantization)
    return WeightEntry(name, tuple(shape), dtype, quantization)


def _parse_quantization(where: str, quantization) -> dict:
    if not isinstance(quantization, dict):
        raise _fail(f"model.json: {where}: quantization must be an object, got {quantization!r}")
    kind = quantization.get("dtype")
    if kind == "float16":
        _check_fields(quantization, f"{where} quantization", ("dtype",), ("original_dtype",))
    elif kind == "uint8":
        _check_fields(quantization, f"{where} quantization", ("dtype", "min", "scale"),
                      ("original_dtype",))
        if not _is_number(quantization["min"]):
            raise _fail(f"model.json: {where}: quantization min must be a finite number, "
                        f"got {quantization['min']!r}")
        if not _is_number(quantization["scale"]) or quantization["scale"] <= 0:
            raise _fail(f"model.json: {where}: quantization scale must be a positive finite "
                        f"number, got {quantization['scale']!r}")
    else:
        raise _fail(f"model.json: {where}: quantization dtype {kind!r} is not supported "
                    "(expected 'float16' or 'uint8')")
    if quantization.get("original_dtype", "float32") != "float32":
        raise _fail(f"model.json: {where}: quantization original_dtype "
                    f"{quantization['original_dtype']!r}, expected 'float32'")
    return dict(quantization)


def _match_manifest(layers: list[_LayerPlan], groups) -> None:
    """The manifest must list exactly the topology's weights, in layer order, same shapes."""
    expected = [(plan, name, shape, why) for plan in layers for name, shape, why in plan.weights]
    listed = [(f"weightsManifest[{g}].weights[{w}]", entry)
              for g, (_, entries) in enumerate(groups) for w, entry in enumerate(entries)]
    expected_names = [name for _, name, _, _ in expected]
    listed_names = [entry.name for _, entry in listed]
    for where, entry in listed:
        if listed_names.count(entry.name) > 1:
            raise _fail(f"model.json: {where}: weight '{entry.name}' is listed twice")
        if entry.name not in expected_names:
            raise _fail(f"model.json: {where}: weight '{entry.name}' belongs to no layer "
                        f"(the topology's weights: {', '.join(expected_names) or 'none'})")
    for plan, name, _, _ in expected:
        if name not in listed_names:
            raise _fail(f"model.json: layers[{plan.index}] '{plan.name}': weight '{name}' is "
                        f"missing from weightsManifest ({len(listed)} weights listed, the "
                        f"topology needs {len(expected)})")
    for (where, entry), (plan, name, shape, why) in zip(listed, expected):
        if entry.name != name:
            raise _fail(f"model.json: {where} is '{entry.name}', expected '{name}': the manifest "
                        "must list weights in layer order, kernel before bias")
        if entry.shape != shape:
            raise _fail(f"model.json: layers[{plan.index}] '{plan.name}': weight '{name}' has "
                        f"shape {list(entry.shape)} in {where}, expected {list(shape)} ({why})")


# ----------------------------------------------------------------------------- reading

def read_model(model_json: bytes | str | dict,
               shards: dict[str, bytes | bytearray | memoryview]) -> ModelArtifacts:
    """Validate model.json and decode every weight from `shards` (file name -> bytes).

    Returns only when everything checks out; otherwise raises ModelFormatError. Layer
    configs in the result have defaults filled in (activation, use_bias, strides, padding,
    data_format, pool strides; kernel_size, strides, pool_size as [h, w] lists).
    """
    if not isinstance(model_json, dict):
        model_json = _load_json(model_json)
    plan = _plan(model_json)
    owner = {name: plan_layer for plan_layer in plan.layers for name, _, _ in plan_layer.weights}
    values: dict[str, array.array] = {}
    for g, (paths, entries) in enumerate(plan.groups):
        buffer = _group_bytes(g, paths, entries, shards, owner)
        offset = 0
        for entry in entries:
            layer = owner[entry.name]
            values[entry.name] = _decode(entry, buffer, offset, layer)
            offset += _product(entry.shape) * _bytes_per_value(entry)
    layers = [LayerSpec(p.class_name, p.name, p.config,
                        [(name, shape, values[name]) for name, shape, _ in p.weights],
                        p.input_shape, p.output_shape) for p in plan.layers]
    entries = [entry for _, group_entries in plan.groups for entry in group_entries]
    return ModelArtifacts(plan.input_shape, layers, model_json, entries)


def read_model_dir(path) -> ModelArtifacts:
    """Read `path/model.json` and the shards it lists from the same folder."""
    folder = os.fspath(path)
    json_path = os.path.join(folder, "model.json")
    if not os.path.isfile(json_path):
        raise _fail(f"{json_path}: missing (an exported model folder holds model.json and "
                    "its group*-shard*.bin files)")
    if os.path.getsize(json_path) > MAX_MODEL_JSON_BYTES:
        raise _fail(f"{json_path}: {os.path.getsize(json_path)} bytes, over the limit of "
                    f"{MAX_MODEL_JSON_BYTES}")
    with open(json_path, "rb") as handle:
        model_json = _load_json(handle.read())
    plan = _plan(model_json)
    shards = {}
    for paths, entries in plan.groups:
        needed = sum(_product(e.shape) * _bytes_per_value(e) for e in entries)
        for name in paths:
            shard_path = os.path.join(folder, name)
            if not os.path.isfile(shard_path):
                continue  # read_model names the missing shard
            size = os.path.getsize(shard_path)
            if size > needed:  # never read an absurdly large file into memory
                raise _fail(f"{name}: {size} bytes, more than the {needed} bytes "
                            "model.json declares for its whole group")
            with open(shard_path, "rb") as handle:
                shards[name] = handle.read()
    return read_model(model_json, shards)


def _bytes_per_value(entry: WeightEntry) -> int:
    if entry.quantization is None:
        return 4
    return QUANTIZATION_BYTES[entry.quantization["dtype"]]


def _group_bytes(g: int, paths: list[str], entries: list[WeightEntry], shards: dict,
                 owner: dict) -> memoryview:
    """Concatenate one group's shards after checking each exists and the lengths add up."""
    for p, name in enumerate(paths):
        if name not in shards:
            raise _fail(f"{name}: shard missing (model.json lists it as "
                        f"weightsManifest[{g}].paths[{p}])")
    pieces = [memoryview(shards[name]).cast("B") for name in paths]
    needed = sum(_product(e.shape) * _bytes_per_value(e) for e in entries)
    held = sum(len(piece) for piece in pieces)
    if held != needed:
        raise _fail(_length_message(g, paths, [len(p) for p in pieces], needed,
                                    entries, owner))
    return memoryview(b"".join(pieces))


def _length_message(g: int, paths: list[str], lengths: list[int], needed: int,
                    entries: list[WeightEntry], owner: dict) -> str:
    held = sum(lengths)
    if len(paths) == 1:
        message = f"{paths[0]}: {lengths[0]} bytes, manifest needs {needed}"
    else:
        # The writer fills every shard but the last to the same size as the first.
        shard_size = lengths[0]
        expected = [shard_size] * (len(paths) - 1) + [needed - shard_size * (len(paths) - 1)]
        bad = next((i for i, (got, want) in enumerate(zip(lengths, expected)) if got != want),
                   None)
        if bad is not None and 0 < expected[-1] <= shard_size:
            message = (f"{paths[bad]}: {lengths[bad]} bytes, manifest needs {expected[bad]} "
                       f"(weightsManifest[{g}]: {len(paths)} shards of {shard_size} bytes "
                       f"but the last)")
        else:
            message = (f"weightsManifest[{g}]: byte counts do not add up: shards "
                       f"{', '.join(f'{p} {n}' for p, n in zip(paths, lengths))} hold {held} "
                       f"bytes in all, the weights listed need {needed}")
    short = _first_short_weight(entries, held, owner)
    return f"{message}; {short}" if short else message


def _first_short_weight(entries: list[WeightEntry], held: int, owner: dict) -> str | None:
    offset = 0
    for entry in entries:
        per_value = _bytes_per_value(entry)
        count = _product(entry.shape)
        if offset + count * per_value > held:
            available = max(held - offset, 0) // per_value
            layer = owner[entry.name]
            quantization = entry.quantization
            unit = "floats" if quantization is None else f"{quantization['dtype']} values"
            return (f"model.json: layers[{layer.index}] '{layer.name}': weight '{entry.name}' "
                    f"needs {count} {unit}, shards hold {available}")
        offset += count * per_value
    return None


def _decode(entry: WeightEntry, buffer: memoryview, offset: int, layer: _LayerPlan) -> array.array:
    count = _product(entry.shape)
    raw = buffer[offset: offset + count * _bytes_per_value(entry)]
    kind = None if entry.quantization is None else entry.quantization["dtype"]
    if kind is None:
        values = array.array("f")
        values.frombytes(raw)
        if sys.byteorder == "big":
            values.byteswap()
    elif kind == "float16":
        values = _decode_float16(raw, count)
    else:
        values = _decode_uint8(raw, entry.quantization["min"], entry.quantization["scale"])
    _check_finite(entry, values, layer)
    return values


def _decode_float16(raw: memoryview, count: int) -> array.array:
    """Little-endian IEEE half -> float32 (exact). One C-level call, no per-value Python."""
    if sys.byteorder == "little":
        try:
            return array.array("f", raw.cast("e"))  # Python >= 3.12 can cast to half
        except (TypeError, ValueError):
            pass
    return array.array("f", struct.unpack(f"<{count}e", raw))


def _decode_uint8(raw: memoryview, minimum: float, scale: float) -> array.array:
    """value = q * scale + min in double, rounded to float32: what TF.js's decodeWeights does."""
    table = [q * scale + minimum for q in range(256)]
    return array.array("f", map(table.__getitem__, raw))


def _check_finite(entry: WeightEntry, values: array.array, layer: _LayerPlan) -> None:
    # A sum in double cannot overflow for float32 inputs, so it is finite iff all values are.
    if math.isfinite(sum(values)):
        return
    for index, value in enumerate(values):
        if not math.isfinite(value):
            raise _fail(f"model.json: layers[{layer.index}] '{layer.name}': weight "
                        f"'{entry.name}' holds {value} at flat index {index} "
                        f"(index {_unravel(index, entry.shape)} of shape {list(entry.shape)})")
    raise AssertionError("sum was not finite but every value is")  # pragma: no cover


def _unravel(index: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    position = []
    for dim in reversed(shape):
        position.append(index % dim)
        index //= dim
    return tuple(reversed(position))
