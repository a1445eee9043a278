"""modelTopology: a Keras Sequential's layers, each config read, shapes chained from the input."""

from __future__ import annotations

from dataclasses import dataclass

from webgl_backend.errors import ModelFormatError
from webgl_backend.model_format.checks import as_json, check_fields, format_shape, is_int, product
from webgl_backend.model_format.layer_configs import (
    CLASS_KEYS,
    CONFIG_READERS,
    LAYER_CLASSES,
    PARAMETER_KEYS,
)
from webgl_backend.model_format.limits import (
    MAX_ACTIVATION_FLOATS,
    MAX_INPUT_RANK,
    MAX_LAYERS,
    MAX_NAME_LENGTH,
)

TOPOLOGY_REQUIRED = ("class_name", "config")
TOPOLOGY_OPTIONAL = ("keras_version", "backend")


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


def plan_topology(topology) -> tuple[tuple[int, ...], list[LayerPlan]]:
    check_fields(topology, "modelTopology", TOPOLOGY_REQUIRED, TOPOLOGY_OPTIONAL)
    if topology["class_name"] != "Sequential":
        raise ModelFormatError(f"model.json: modelTopology.class_name is "
                               f"{topology['class_name']!r}, "
                               "expected 'Sequential' (only Sequential models are supported)")
    for key in TOPOLOGY_OPTIONAL:
        if key in topology and not isinstance(topology[key], str):
            raise ModelFormatError(f"model.json: modelTopology.{key} must be a string")
    config = topology["config"]
    check_fields(config, "modelTopology.config", ("name", "layers"))
    layers = config["layers"]
    if not isinstance(layers, list) or not layers:
        raise ModelFormatError("model.json: modelTopology.config.layers must be a non-empty list")
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
    return input_shape, plans


def _model_input_shape(layers: list) -> tuple[int, ...]:
    first = layers[0]
    config = first.get("config") if isinstance(first, dict) else None
    if not isinstance(config, dict) or "batch_input_shape" not in config:
        raise ModelFormatError("model.json: layers[0]: config has no 'batch_input_shape' "
                               "(the first layer must declare [null, ...input dims])")
    return _batch_input_shape(config["batch_input_shape"], "layers[0]")


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
        raise ModelFormatError(f"model.json: {where}: unknown layer class {class_name!r} "
                               f"(supported: {', '.join(LAYER_CLASSES)})")
    if not isinstance(config, dict):
        raise ModelFormatError(f"model.json: {where} {class_name}: config must be an object")
    name = config.get("name")
    if not isinstance(name, str) or not name or len(name) > MAX_NAME_LENGTH:
        raise ModelFormatError(f"model.json: {where} {class_name}: config.name must be a non-empty "
                               "string "
                               f"of at most {MAX_NAME_LENGTH} characters, got {name!r}")
    where = f"{where} '{name}'"
    for key in config:
        if key not in CLASS_KEYS[class_name]:
            raise ModelFormatError(f"model.json: {where}: unexpected config key '{key}' for "
                                   f"{class_name} "
                                   f"(allowed: {', '.join(sorted(CLASS_KEYS[class_name]))})")
    _check_common(where, index, class_name, config, input_shape)
    builder = CONFIG_READERS[class_name]
    normalized, output_shape, weights = builder(where, config, input_shape)
    if product(output_shape) > MAX_ACTIVATION_FLOATS:
        raise ModelFormatError(f"model.json: {where}: output shape {format_shape(output_shape)} "
                               "holds "
                               f"{product(output_shape)} values per sample, over the limit of "
                               f"{MAX_ACTIVATION_FLOATS}")
    return LayerPlan(index, class_name, name, normalized, input_shape, output_shape,
                      [(f"{name}/{short}", shape, why) for short, shape, why in weights])


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
    if config.get("dtype") not in (None, "float32"):
        raise ModelFormatError(f"model.json: {where}: dtype {config['dtype']!r} is not supported "
                               "(expected 'float32')")
    for key in PARAMETER_KEYS & config.keys():
        value = config[key]
        if value is not None and not (isinstance(value, dict) and "class_name" in value):
            raise ModelFormatError(f"model.json: {where}: {key} must be null or "
                                   f"{{\"class_name\": ..., \"config\": ...}}, got {value!r}")
