"""modelTopology: the layer chain (see `graph`), each config read, shapes chained from the input.

Config keys: those a class reads are checked; those known not to change the computation are
ignored; a key we do not know is ignored when it is null, false or empty (how Keras adds a
feature that is off by default) and refused otherwise, since it might change the result.
"""

from __future__ import annotations

from dataclasses import dataclass

from webgl_backend.errors import ModelFormatError
from webgl_backend.json_values import as_json, check_fields, format_shape, is_int, product
from webgl_backend.layers.configs import IGNORED_KEYS, INPUT_SHAPE_KEYS, PARAMETER_KEYS
from webgl_backend.layers.keras_configs import BATCH_NORM_IGNORED
from webgl_backend.layers.table import LAYER_CLASSES, LAYERS
from webgl_backend.model_format.graph import WRAPPER_OPTIONAL, layer_chain
from webgl_backend.model_format.limits import (
    MAX_ACTIVATION_FLOATS,
    MAX_INPUT_RANK,
    MAX_LAYERS,
    MAX_NAME_LENGTH,
)

TOPOLOGY_REQUIRED = ("class_name", "config")
TOPOLOGY_OPTIONAL = WRAPPER_OPTIONAL


@dataclass
class LayerPlan:
    """One checked layer: normalized config, shapes chained, the weights it needs."""

    index: int
    class_name: str
    name: str
    config: dict
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    weights: list[tuple[str, tuple[int, ...], str]]  # (full name, expected shape, why)


def plan_topology(topology) -> tuple[str, tuple[int, ...], list[LayerPlan]]:
    """(model name, input shape without the batch axis, checked layers)."""
    chain = layer_chain(topology)
    layers = chain.layers
    if len(layers) > MAX_LAYERS:
        raise ModelFormatError(f"model.json: {len(layers)} layers, over the limit of {MAX_LAYERS}")
    input_shape = _model_input_shape(layers)
    plans: list[LayerPlan] = []
    names: set[str] = set()
    shape = input_shape
    for index, entry in enumerate(layers):
        plan = plan_layer(index, entry, shape)
        if plan.name in names:
            raise ModelFormatError(f"model.json: layers[{index}]: layer name '{plan.name}' is used "
                                   "twice")
        names.add(plan.name)
        plans.append(plan)
        shape = plan.output_shape
    return chain.name, input_shape, plans


def _model_input_shape(layers: list) -> tuple[int, ...]:
    """From the first layer: batch_input_shape, Keras 3's batch_shape, or input_shape."""
    first = layers[0]
    config = first.get("config") if isinstance(first, dict) else None
    if isinstance(config, dict):
        for key in ("batch_input_shape", "batch_shape"):
            if key in config:
                return _batch_input_shape(config[key], "layers[0]")
        if isinstance(config.get("input_shape"), list):
            return _batch_input_shape([None, *config["input_shape"]], "layers[0]")
    raise ModelFormatError("model.json: layers[0]: config has no 'batch_input_shape' "
                           "(the first layer must declare [null, ...input dims])")


def _batch_input_shape(value, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) < 2 or value[0] is not None:
        raise ModelFormatError(f"model.json: {where}: batch_input_shape must be [null, d1, ...], "
                               f"got {as_json(value)}")
    dims = value[1:]
    if len(dims) > MAX_INPUT_RANK:
        raise ModelFormatError(f"model.json: {where}: batch_input_shape has {len(dims)} dims after "
                               "the batch, "
                               f"at most {MAX_INPUT_RANK} are supported")
    for dim in dims:
        if not is_int(dim) or dim <= 0:
            raise ModelFormatError(f"model.json: {where}: batch_input_shape {as_json(value)} has "
                                   "dimension "
                                   f"{dim!r}; expected positive integers after null")
    if product(dims) > MAX_ACTIVATION_FLOATS:
        raise ModelFormatError(f"model.json: {where}: batch_input_shape {as_json(value)} holds "
                               f"{product(dims)} "
                               f"values per sample, over the limit of {MAX_ACTIVATION_FLOATS}")
    return tuple(dims)


def plan_layer(index: int, entry, input_shape: tuple[int, ...]) -> LayerPlan:
    where = f"layers[{index}]"
    check_fields(entry, where, ("class_name", "config"))
    class_name, config = entry["class_name"], entry["config"]
    if class_name not in LAYER_CLASSES:
        name = entry["config"].get("name") if isinstance(entry["config"], dict) else None
        named = f" '{name}'" if isinstance(name, str) else ""
        raise ModelFormatError(f"model.json: {where}{named}: unknown layer class "
                               f"{class_name!r} (supported: {', '.join(LAYER_CLASSES)})")
    if not isinstance(config, dict):
        raise ModelFormatError(f"model.json: {where} {class_name}: config must be an object")
    name = config.get("name")
    if not isinstance(name, str) or not name or len(name) > MAX_NAME_LENGTH:
        raise ModelFormatError(f"model.json: {where} {class_name}: config.name must be a non-empty "
                               "string "
                               f"of at most {MAX_NAME_LENGTH} characters, got {name!r}")
    where = f"{where} '{name}'"
    entry = LAYERS[class_name]
    known = entry.config_keys | IGNORED_KEYS | INPUT_SHAPE_KEYS
    for key, value in config.items():
        if key not in known and value not in (None, False, {}, []):
            read = entry.config_keys - PARAMETER_KEYS - BATCH_NORM_IGNORED - {"batch_input_shape"}
            raise ModelFormatError(f"model.json: {where}: unknown config key '{key}' = "
                                   f"{as_json(value)} for {class_name}; it may change what the "
                                   f"layer computes (keys read: {', '.join(sorted(read))})")
    config = _input_config(class_name, config)
    _check_common(where, index, class_name, config, input_shape)
    normalized, output_shape, weights = entry.read_config(where, config, input_shape)
    if product(output_shape) > MAX_ACTIVATION_FLOATS:
        raise ModelFormatError(f"model.json: {where}: output shape {format_shape(output_shape)} "
                               "holds "
                               f"{product(output_shape)} values per sample, over the limit of "
                               f"{MAX_ACTIVATION_FLOATS}")
    return LayerPlan(index, class_name, name, normalized, input_shape, output_shape,
                      [(f"{name}/{short}", shape, why) for short, shape, why in weights])


def _input_config(class_name: str, config: dict) -> dict:
    """Keras 3's InputLayer `batch_shape` and a first layer's `input_shape`, read as
    `batch_input_shape` (a copy; the caller's dict stays as the file has it)."""
    config = dict(config)
    if class_name == "InputLayer" and "batch_shape" in config:
        config["batch_input_shape"] = config.pop("batch_shape")
    input_shape = config.pop("input_shape", None)
    if isinstance(input_shape, list) and "batch_input_shape" not in config:
        config["batch_input_shape"] = [None, *input_shape]
    return config


def is_float32_dtype(value) -> bool:
    """'float32', absent, or a Keras 3 dtype policy whose name is float32."""
    if value is None or value == "float32":
        return True
    if isinstance(value, dict) and value.get("class_name") in ("DTypePolicy", "Policy"):
        config = value.get("config")
        return isinstance(config, dict) and config.get("name") == "float32"
    return False


def _check_common(where: str, index: int, class_name: str, config: dict,
                  input_shape: tuple[int, ...]) -> None:
    if class_name == "InputLayer" and index != 0:
        raise ModelFormatError(f"model.json: {where}: an InputLayer may only be layers[0]")
    if "batch_input_shape" in config and index != 0:
        # Keras writes it on the first real layer too when an InputLayer leads; it must agree.
        declared = _batch_input_shape(config["batch_input_shape"], where)
        if index != 1 or declared != input_shape:
            raise ModelFormatError(f"model.json: {where}: batch_input_shape "
                                   f"{as_json(config['batch_input_shape'])} on a layer that is not "
                                   "the first "
                                   f"(its input is {format_shape(input_shape)})")
    if "trainable" in config and not isinstance(config["trainable"], bool):
        raise ModelFormatError(f"model.json: {where}: trainable must be true or false, "
                               f"got {config['trainable']!r}")
    if not is_float32_dtype(config.get("dtype")):
        raise ModelFormatError(f"model.json: {where}: dtype {as_json(config['dtype'])} is not "
                               "supported (expected 'float32' or a float32 dtype policy)")
    for key in PARAMETER_KEYS & config.keys():
        value = config[key]
        if value is not None and not (isinstance(value, dict) and "class_name" in value):
            raise ModelFormatError(f"model.json: {where}: {key} must be null or "
                                   f"{{\"class_name\": ..., \"config\": ...}}, got {value!r}")
