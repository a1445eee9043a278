"""weightsManifest: shard paths, each weight's name, shape and dtype, matched to the topology."""

from __future__ import annotations

import re

from webgl_backend.errors import ModelFormatError
from webgl_backend.model_format.artifacts import WeightEntry
from webgl_backend.json_values import check_fields, is_int, product
from webgl_backend.model_format.limits import (
    MAX_NAME_LENGTH,
    MAX_SHARDS,
    MAX_WEIGHT_FLOATS,
    MAX_WEIGHT_RANK,
)
from webgl_backend.model_format.quantization import parse_quantization
from webgl_backend.model_format.topology import LayerPlan

SHARD_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")


def parse_manifest(manifest) -> list[tuple[list[str], list[WeightEntry]]]:
    if not isinstance(manifest, list):
        raise ModelFormatError(f"model.json: weightsManifest must be a list of groups, "
                               f"got {type(manifest).__name__}")
    groups = []
    seen_paths: set[str] = set()
    total_floats = 0
    for g, group in enumerate(manifest):
        where = f"weightsManifest[{g}]"
        check_fields(group, where, ("paths", "weights"))
        paths, weights = group["paths"], group["weights"]
        if not isinstance(paths, list) or not isinstance(weights, list):
            raise ModelFormatError(f"model.json: {where}: paths and weights must be lists")
        # TF.js's model.save() writes "./model.weights.bin": the same folder.
        paths = [p[2:] if isinstance(p, str) and p.startswith("./") else p for p in paths]
        for p, path in enumerate(paths):
            if (not isinstance(path, str) or not SHARD_NAME.fullmatch(path)
                    or len(path) > MAX_NAME_LENGTH):
                raise ModelFormatError(f"model.json: {where}.paths[{p}]: {path!r} is not a plain "
                                       "file name "
                                       "(letters, digits, '.', '_', '-'; no folders)")
            if path in seen_paths:
                raise ModelFormatError(f"model.json: {where}.paths[{p}]: shard '{path}' is listed "
                                       "twice")
            seen_paths.add(path)
        if len(seen_paths) > MAX_SHARDS:
            raise ModelFormatError(f"model.json: {len(seen_paths)} shards, over the limit of "
                                   f"{MAX_SHARDS}")
        if weights and not paths:
            raise ModelFormatError(f"model.json: {where}: lists weights but no shard paths")
        entries = [_parse_entry(f"{where}.weights[{w}]", entry) for w, entry in enumerate(weights)]
        for entry in entries:
            total_floats += product(entry.shape)
        if total_floats > MAX_WEIGHT_FLOATS:
            raise ModelFormatError(f"model.json: weightsManifest declares over {total_floats} "
                                   "weight "
                                   f"values, over the limit of {MAX_WEIGHT_FLOATS} "
                                   "(MAX_WEIGHT_FLOATS)")
        groups.append((list(paths), entries))
    return groups


def _parse_entry(where: str, entry) -> WeightEntry:
    check_fields(entry, where, ("name", "shape", "dtype"), ("quantization",))
    name, shape, dtype = entry["name"], entry["shape"], entry["dtype"]
    if not isinstance(name, str) or not name:
        raise ModelFormatError(f"model.json: {where}: name must be a non-empty string, got "
                               f"{name!r}")
    where = f"{where} '{name}'"
    if not isinstance(shape, list) or len(shape) > MAX_WEIGHT_RANK:
        raise ModelFormatError(f"model.json: {where}: shape must be a list of at most "
                               f"{MAX_WEIGHT_RANK} integers, got {shape!r}")
    for dim in shape:
        if not is_int(dim):
            raise ModelFormatError(f"model.json: {where}: shape {shape!r} has non-integer "
                                   f"dimension {dim!r}")
        if dim < 0:
            raise ModelFormatError(f"model.json: {where}: shape {shape!r} has negative dimension "
                                   f"{dim}")
    if product(shape) > MAX_WEIGHT_FLOATS:
        raise ModelFormatError(f"model.json: {where}: shape {shape!r} declares {product(shape)} "
                               "values, "
                               f"over the limit of {MAX_WEIGHT_FLOATS} (MAX_WEIGHT_FLOATS)")
    if dtype != "float32":
        raise ModelFormatError(f"model.json: {where}: dtype {dtype!r} is not supported (expected "
                               "'float32', "
                               "optionally stored quantized)")
    quantization = entry.get("quantization")
    if quantization is not None:
        quantization = parse_quantization(where, quantization)
    return WeightEntry(name, tuple(shape), dtype, quantization)


def match_manifest(layers: list[LayerPlan], groups) -> None:
    """The manifest must list exactly the topology's weights, each once, with its shape.

    Matched by name, in whatever order the manifest lists them: the official converter
    sorts weights by name, TF.js's `model.save()` lists non-trainable ones (moving
    statistics) last, ours go in layer order. Bytes are read in the manifest's order.
    """
    expected = {name: (plan, shape, why) for plan in layers for name, shape, why in plan.weights}
    listed = [(f"weightsManifest[{g}].weights[{w}]", entry)
              for g, (_, entries) in enumerate(groups) for w, entry in enumerate(entries)]
    seen: set[str] = set()
    for where, entry in listed:
        if entry.name in seen:
            raise ModelFormatError(f"model.json: {where}: weight '{entry.name}' is listed twice")
        seen.add(entry.name)
        if entry.name not in expected:
            raise ModelFormatError(f"model.json: {where}: weight '{entry.name}' belongs to no "
                                   "layer "
                                   f"(the topology's weights: {', '.join(expected) or 'none'})")
        plan, shape, why = expected[entry.name]
        if entry.shape != shape:
            raise ModelFormatError(f"model.json: layers[{plan.index}] '{plan.name}': weight "
                                   f"'{entry.name}' has "
                                   f"shape {list(entry.shape)} in {where}, expected {list(shape)} "
                                   f"({why})")
    for name, (plan, _, _) in expected.items():
        if name not in seen:
            raise ModelFormatError(f"model.json: layers[{plan.index}] '{plan.name}': weight "
                                   f"'{name}' is "
                                   f"missing from weightsManifest ({len(listed)} weights listed, "
                                   "the "
                                   f"topology needs {len(expected)})")
