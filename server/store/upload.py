"""An upload checked in the order that bounds its cost, before the reader decodes a weight.

1. model.json is parsed once, within JSON limits (bounded_json), and its metadata fields
   are size-limited.
2. What it declares (layer classes and names, each weight's name, shape and stored size,
   the shard files) is read from the parsed JSON, defensively, and checked against the
   uploaded file names and sizes and against the base model's topology. A wrong topology
   or a shard of the wrong length is refused here: no shard byte is read.
3. Only then are the shard bytes read and the reader (`read_model`) validates and decodes
   them, once; the decoded weights are as many as the base model's, so the work is bounded.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass

from server.store.errors import InvalidUploadError
from server.store.names import FILE_NAME_RULE, RESERVED_FILES, is_file_name, shown
from server.store.topology import Topology, Weights, weights_text

MAX_METADATA_BYTES = 64 * 1024
METADATA_FIELDS = ("userDefinedMetadata", "trainingConfig", "signature")
BYTES_PER_VALUE = {None: 4, "float16": 2, "uint8": 1}


@dataclass(frozen=True)
class IncomingFile:
    """An uploaded file whose size is known before its bytes are read (spooled on disk)."""

    size: int
    read: Callable[[], bytes]

    @classmethod
    def of_bytes(cls, data: bytes) -> "IncomingFile":
        return cls(len(data), lambda: data)


@dataclass(frozen=True)
class DeclaredGroup:
    paths: tuple[str, ...]
    weights: Weights
    bytes_needed: int


@dataclass(frozen=True)
class DeclaredModel:
    """What model.json says, before the reader has checked it: layers, weights, shards."""

    layers: tuple[tuple[str, str], ...]  # (class_name, name)
    configs: tuple[dict, ...]            # as written, defaults not filled in
    groups: tuple[DeclaredGroup, ...]

    def paths(self) -> list[str]:
        return [path for group in self.groups for path in group.paths]

    def weights(self) -> Weights:
        return tuple(weight for group in self.groups for weight in group.weights)


def check_metadata(model_json: dict) -> None:
    for key in METADATA_FIELDS:
        if key in model_json:
            size = len(json.dumps(model_json[key]))
            if size > MAX_METADATA_BYTES:
                raise InvalidUploadError(f"model.json: {key} is {size} bytes as JSON, over "
                                         f"the limit of {MAX_METADATA_BYTES} bytes")


def declared_model(model_json: object) -> DeclaredModel | None:
    """The declarations, or None when the structure is not what the reader accepts (the
    reader then names the fault)."""
    try:
        topology = model_json["modelTopology"]
        topology = topology.get("model_config", topology)
        entries = topology["config"]["layers"]
        layers = tuple((entry["class_name"], entry["config"]["name"]) for entry in entries)
        configs = tuple(dict(entry["config"]) for entry in entries)
        groups = tuple(_declared_group(group) for group in model_json["weightsManifest"])
    except (KeyError, TypeError, AttributeError, ValueError):
        return None
    if not all(isinstance(c, str) and isinstance(n, str) for c, n in layers):
        return None
    return DeclaredModel(layers, configs, groups)


def _declared_group(group: dict) -> DeclaredGroup:
    paths, weights, needed = tuple(group["paths"]), [], 0
    for entry in group["weights"]:
        shape = tuple(entry["shape"])
        if not all(type(dim) is int and dim >= 0 for dim in shape) or not isinstance(
                entry["name"], str):
            raise ValueError("not a weight entry")
        quantization = entry.get("quantization")
        kind = quantization.get("dtype") if quantization is not None else None
        needed += math.prod(shape) * BYTES_PER_VALUE[kind]
        weights.append((entry["name"], shape))
    return DeclaredGroup(paths, tuple(weights), needed)


def check_files(expected: list[str], sizes: dict[str, int]) -> None:
    """The uploaded files are exactly the manifest's shards (`expected`), by name."""
    for path in expected:
        if not is_file_name(path) or path in RESERVED_FILES:
            reason = ("a name reserved for the server (" + ", ".join(sorted(RESERVED_FILES)) + ")"
                      if path in RESERVED_FILES else f"not a plain file name ({FILE_NAME_RULE})")
            raise InvalidUploadError(f"model.json: weightsManifest lists shard {shown(path)}, "
                                     f"{reason}")
    unexpected = sorted(set(sizes) - set(expected))
    if unexpected:
        raise InvalidUploadError(f"shard file {shown(unexpected[0])} is not listed in "
                                 f"model.json's weightsManifest (it lists: {', '.join(expected)})")
    missing = [path for path in expected if path not in sizes]
    if missing:
        raise InvalidUploadError(f"shard file '{missing[0]}' listed in model.json's "
                                 f"weightsManifest was not uploaded ({len(sizes)} of "
                                 f"{len(expected)} shards received)")


def check_sizes(declared: DeclaredModel, sizes: dict[str, int]) -> None:
    for g, group in enumerate(declared.groups):
        held = sum(sizes[path] for path in group.paths)
        if held == group.bytes_needed:
            continue
        if len(group.paths) == 1:
            raise InvalidUploadError(f"{group.paths[0]}: {held} bytes, manifest needs "
                                     f"{group.bytes_needed}")
        listed = ", ".join(f"{path} {sizes[path]}" for path in group.paths)
        raise InvalidUploadError(f"weightsManifest[{g}]: shards {listed} hold {held} bytes in "
                                 f"all, the weights listed need {group.bytes_needed}")


def declared_difference(declared: DeclaredModel, topology: Topology) -> str | None:
    """The first difference in layers or weights between the declarations and `topology`."""
    base_layers = tuple((layer.class_name, layer.name) for layer in topology.layers)
    for index, (got, want) in enumerate(zip(declared.layers, base_layers)):
        if got != want:
            return (f"layers[{index}] is {got[0]} '{got[1]}', the base has "
                    f"{want[0]} '{want[1]}'")
    if len(declared.layers) != len(base_layers):
        return f"{len(declared.layers)} layers, the base has {len(base_layers)}"
    weights = declared.weights()
    if weights == topology.weights():
        return None
    for index, layer in enumerate(topology.layers):
        got = tuple(w for w in weights if w[0].rpartition("/")[0] == layer.name)
        if got != layer.weights:
            return _config_difference(index, layer, declared.configs[index]) or (
                f"layers[{index}] '{layer.name}': weights {weights_text(got)}, the base "
                f"has {weights_text(layer.weights)}")
    return f"weights {weights_text(weights)}, the base has {weights_text(topology.weights())}"


def _config_difference(index: int, layer, config: dict) -> str | None:
    """A plain setting (units, filters, ...) that explains a weight shape, if one differs."""
    for key in sorted(config.keys() & layer.config.keys()):
        got, want = config[key], layer.config[key]
        plain = all(type(value) in (int, str) for value in (got, want))
        if plain and got != want:
            return (f"layers[{index}] '{layer.name}': config '{key}' is {json.dumps(got)}, "
                    f"the base has {json.dumps(want)}")
    return None
