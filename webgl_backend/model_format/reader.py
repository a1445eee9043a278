"""read_model: model.json and shard bytes in memory -> ModelArtifacts, or nothing."""

from __future__ import annotations

import array

from webgl_backend.model_format.artifacts import LayerSpec, ModelArtifacts
from webgl_backend.json_values import product
from webgl_backend.model_format.document import plan_model
from webgl_backend.model_format.json_text import load_json
from webgl_backend.model_format.quantization import bytes_per_value
from webgl_backend.model_format.shards import decode_weight, group_bytes


def read_model(model_json: bytes | str | dict,
               shards: dict[str, bytes | bytearray | memoryview]) -> ModelArtifacts:
    """Validate model.json and decode every weight from `shards` (file name -> bytes).

    Returns only when everything checks out; otherwise raises ModelFormatError. Layer
    configs in the result have defaults filled in (activation, use_bias, strides, padding,
    data_format, pool strides; kernel_size, strides, pool_size as [h, w] lists).
    """
    if not isinstance(model_json, dict):
        model_json = load_json(model_json)
    plan = plan_model(model_json)
    owner = {name: plan_layer for plan_layer in plan.layers for name, _, _ in plan_layer.weights}
    values: dict[str, array.array] = {}
    for g, (paths, entries) in enumerate(plan.groups):
        buffer = group_bytes(g, paths, entries, shards, owner)
        offset = 0
        for entry in entries:
            layer = owner[entry.name]
            values[entry.name] = decode_weight(entry, buffer, offset, layer)
            offset += product(entry.shape) * bytes_per_value(entry)
    layers = [LayerSpec(p.class_name, p.name, p.config,
                        [(name, shape, values[name]) for name, shape, _ in p.weights],
                        p.input_shape, p.output_shape) for p in plan.layers]
    entries = [entry for _, group_entries in plan.groups for entry in group_entries]
    return ModelArtifacts(plan.input_shape, layers, model_json, entries, plan.name)
