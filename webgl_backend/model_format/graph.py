"""modelTopology as the three writers lay it out, reduced to one chain of layer entries.

- ours and TF.js `model.save()`: `{class_name, config, keras_version?, backend?}`;
- the official converter: `{keras_version, backend, model_config: {class_name, config},
  training_config?}`.

`Sequential` configs list their layers in order. `Functional` (Keras 2.13+) and `Model`
(older Keras, tfjs-layers) configs hold a graph: each layer names its inbound tensors; we run
it when it is a single chain (one input, one output, every layer fed by exactly the one
before it), and refuse any branch or join naming the layers involved.

Keras 3-style inbound nodes (`{"args": [{"class_name": "__keras_tensor__", "config":
{"keras_history": [name, 0, 0]}}], "kwargs": {}}`) read like Keras 2's `[[name, 0, 0, {}]]`.
"""

from __future__ import annotations

from dataclasses import dataclass

from webgl_backend.errors import ModelFormatError
from webgl_backend.json_values import as_json, check_fields

WRAPPER_OPTIONAL = ("keras_version", "backend")
CONVERTER_REQUIRED = ("model_config",)
CONVERTER_OPTIONAL = ("keras_version", "backend", "training_config")
MODEL_CLASSES = ("Sequential", "Functional", "Model")
_GRAPH_KEYS = ("name", "layers", "input_layers", "output_layers")
_GRAPH_OPTIONAL = ("trainable",)
_SEQUENTIAL_OPTIONAL = ("trainable", "build_input_shape")


@dataclass
class LayerChain:
    """The model's name and its layer entries ({class_name, config}) in the order data flows."""

    name: str
    layers: list


def layer_chain(topology) -> LayerChain:
    """Unwrap either topology layout and reduce a Functional graph to its chain."""
    if isinstance(topology, dict) and "model_config" in topology:
        check_fields(topology, "modelTopology", CONVERTER_REQUIRED, CONVERTER_OPTIONAL)
        where, model = "modelTopology.model_config", topology["model_config"]
    else:
        where, model = "modelTopology", topology
    for key in ("keras_version", "backend"):
        if isinstance(topology, dict) and key in topology and not isinstance(topology[key], str):
            raise ModelFormatError(f"model.json: modelTopology.{key} must be a string")
    optional = WRAPPER_OPTIONAL if model is topology else ()
    check_fields(model, where, ("class_name", "config"), optional)
    class_name = model["class_name"]
    if class_name not in MODEL_CLASSES:
        raise ModelFormatError(f"model.json: {where}.class_name is {class_name!r}, expected one "
                               f"of {', '.join(MODEL_CLASSES)} (a single chain of layers)")
    config = model["config"]
    if class_name == "Sequential":
        check_fields(config, f"{where}.config", ("name", "layers"), _SEQUENTIAL_OPTIONAL)
        return LayerChain(config["name"], _layer_list(config["layers"], where))
    check_fields(config, f"{where}.config", _GRAPH_KEYS, _GRAPH_OPTIONAL)
    return LayerChain(config["name"], _graph_chain(config, where))


def _layer_list(layers, where: str) -> list:
    if not isinstance(layers, list) or not layers:
        raise ModelFormatError(f"model.json: {where}.config.layers must be a non-empty list")
    return layers


def _graph_chain(config: dict, where: str) -> list:
    layers = _layer_list(config["layers"], where)
    by_name: dict[str, dict] = {}
    for index, entry in enumerate(layers):
        check_fields(entry, f"layers[{index}]", ("class_name", "config", "name", "inbound_nodes"))
        if entry["name"] in by_name:
            raise ModelFormatError(f"model.json: layers[{index}]: layer name {entry['name']!r} "
                                   "is used twice")
        by_name[entry["name"]] = entry
    source = _single_endpoint(config["input_layers"], "input_layers", by_name)
    sink = _single_endpoint(config["output_layers"], "output_layers", by_name)
    consumers: dict[str, str] = {}
    for entry in layers:
        for producer in _inbound_names(entry):
            if producer not in by_name:
                raise ModelFormatError(f"model.json: layer {entry['name']!r}: inbound_nodes "
                                       f"name {producer!r}, which is no layer of the model")
            if producer in consumers:
                raise ModelFormatError(
                    f"model.json: layer {entry['name']!r}: inbound_nodes take {producer!r}, "
                    f"which already feeds {consumers[producer]!r}: a branch. Only single-chain "
                    "models are supported (each layer feeds exactly the next one)")
            consumers[producer] = entry["name"]
    chain, name = [], source
    while True:
        chain.append(by_name[name])
        if name == sink:
            break
        if name not in consumers:
            raise ModelFormatError(f"model.json: layer {name!r} feeds no layer, but the output "
                                   f"is {sink!r}")
        name = consumers[name]
    if len(chain) != len(layers):
        unused = [entry["name"] for entry in layers if entry not in chain]
        raise ModelFormatError(f"model.json: layers {', '.join(map(repr, unused))} are not on "
                               f"the chain from {source!r} to {sink!r}")
    return [{"class_name": entry["class_name"], "config": entry["config"]} for entry in chain]


def _single_endpoint(value, key: str, by_name: dict) -> str:
    if (not isinstance(value, list) or len(value) != 1 or not isinstance(value[0], list)
            or not value[0] or value[0][0] not in by_name or value[0][1:] not in ([], [0, 0])):
        raise ModelFormatError(f"model.json: {key} is {as_json(value)}; expected one layer "
                               "[[name, 0, 0]] (models with several inputs or outputs are not "
                               "supported)")
    return value[0][0]


def _inbound_names(entry: dict) -> list[str]:
    """Names of the layers whose outputs this layer takes; refuses several or shared calls."""
    nodes = entry["inbound_nodes"]
    where = f"layer {entry['name']!r}"
    if not isinstance(nodes, list) or len(nodes) > 1:
        raise ModelFormatError(f"model.json: {where}: inbound_nodes {as_json(nodes)}: a layer "
                               "called more than once (shared layers are not supported)")
    if not nodes:
        return []
    tensors = _node_tensors(nodes[0], where)
    if len(tensors) != 1:
        names = [t[0] for t in tensors]
        raise ModelFormatError(f"model.json: {where} ({entry['class_name']}) takes "
                               f"{len(tensors)} inputs ({', '.join(map(repr, names))}): a join. "
                               "Only single-chain models are supported")
    history = tensors[0]
    if not (isinstance(history, list) and len(history) >= 3 and isinstance(history[0], str)
            and history[1:3] == [0, 0]):
        raise ModelFormatError(f"model.json: {where}: inbound tensor {as_json(history)} is not "
                               "[layer name, 0, 0]")
    return [history[0]]


def _node_tensors(node, where: str) -> list:
    if isinstance(node, dict):  # Keras 3
        args = node.get("args")
        if not isinstance(args, list) or node.get("kwargs", {}) != {}:
            raise ModelFormatError(f"model.json: {where}: inbound node {as_json(node)} is not "
                                   "supported (expected args of Keras tensors, no kwargs)")
        flat = args[0] if len(args) == 1 and isinstance(args[0], list) else args
        return [_keras_history(t, where) for t in flat]
    if not isinstance(node, list):
        raise ModelFormatError(f"model.json: {where}: inbound node {as_json(node)} is not a list")
    for tensor in node:
        if isinstance(tensor, list) and len(tensor) == 4 and tensor[3] not in ({}, None):
            raise ModelFormatError(f"model.json: {where}: call arguments {as_json(tensor[3])} "
                                   "are not supported")
    return node


def _keras_history(tensor, where: str) -> list:
    config = tensor.get("config") if isinstance(tensor, dict) else None
    history = config.get("keras_history") if isinstance(config, dict) else None
    if not isinstance(history, list) or tensor.get("class_name") != "__keras_tensor__":
        raise ModelFormatError(f"model.json: {where}: inbound argument {as_json(tensor)} is not "
                               "a Keras tensor")
    return history
