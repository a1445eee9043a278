"""The top level of model.json: its fields, then topology and manifest checked together."""

from __future__ import annotations

from dataclasses import dataclass

from webgl_backend.errors import ModelFormatError
from webgl_backend.model_format.artifacts import WeightEntry
from webgl_backend.json_values import check_fields
from webgl_backend.model_format.json_text import load_json
from webgl_backend.model_format.manifest import match_manifest, parse_manifest
from webgl_backend.model_format.topology import LayerPlan, plan_topology

FORMAT = "layers-model"
REQUIRED_FIELDS = ("format", "generatedBy", "convertedBy", "modelTopology", "weightsManifest")
# Written by TF.js's own `model.save()`; accepted and ignored.
OPTIONAL_FIELDS = ("trainingConfig", "userDefinedMetadata", "signature", "modelInitializer",
                   "initializerSignature")


@dataclass
class ModelPlan:
    """A checked model.json before any shard is read: input shape, layers, manifest groups."""

    name: str
    input_shape: tuple[int, ...]
    layers: list[LayerPlan]
    groups: list[tuple[list[str], list[WeightEntry]]]


def plan_model(model_json: dict) -> ModelPlan:
    check_fields(model_json, "the top level", REQUIRED_FIELDS, OPTIONAL_FIELDS)
    if model_json["format"] != FORMAT:
        raise ModelFormatError(f"model.json: format is {model_json['format']!r}, expected "
                               f"'{FORMAT}'")
    if not isinstance(model_json["generatedBy"], str):
        raise ModelFormatError("model.json: generatedBy must be a string")
    if model_json["convertedBy"] is not None and not isinstance(model_json["convertedBy"], str):
        raise ModelFormatError("model.json: convertedBy must be a string or null")
    name, input_shape, layers = plan_topology(model_json["modelTopology"])
    groups = parse_manifest(model_json["weightsManifest"])
    match_manifest(layers, groups)
    return ModelPlan(name, input_shape, layers, groups)


def parse_model_json(data: bytes | str) -> dict:
    """Parse and fully validate model.json (topology, shapes, manifest); return the dict."""
    model_json = load_json(data)
    plan_model(model_json)
    return model_json


def shard_paths(model_json: dict) -> list[str]:
    """Every shard file name in the order the manifest lists them (all groups)."""
    return [path for paths, _ in plan_model(model_json).groups for path in paths]
