"""read_model_dir: an exported model folder on disk -> ModelArtifacts."""

from __future__ import annotations

import os

from webgl_backend.errors import ModelFormatError
from webgl_backend.model_format.artifacts import ModelArtifacts
from webgl_backend.json_values import product
from webgl_backend.model_format.document import plan_model
from webgl_backend.model_format.json_text import load_json
from webgl_backend.model_format.limits import MAX_MODEL_JSON_BYTES
from webgl_backend.model_format.quantization import bytes_per_value
from webgl_backend.model_format.reader import read_model

def read_model_dir(path) -> ModelArtifacts:
    """Read `path/model.json` and the shards it lists from the same folder."""
    folder = os.fspath(path)
    json_path = os.path.join(folder, "model.json")
    if not os.path.isfile(json_path):
        raise ModelFormatError(f"{json_path}: missing (an exported model folder holds model.json "
                               "and its group*-shard*.bin files)")
    if os.path.getsize(json_path) > MAX_MODEL_JSON_BYTES:
        raise ModelFormatError(f"{json_path}: {os.path.getsize(json_path)} bytes, over the limit "
                               f"of {MAX_MODEL_JSON_BYTES}")
    with open(json_path, "rb") as handle:
        model_json = load_json(handle.read())
    plan = plan_model(model_json)
    shards = {}
    for paths, entries in plan.groups:
        needed = sum(product(e.shape) * bytes_per_value(e) for e in entries)
        for name in paths:
            shard_path = os.path.join(folder, name)
            if not os.path.isfile(shard_path):
                continue  # read_model names the missing shard
            size = os.path.getsize(shard_path)
            if size > needed:  # never read an absurdly large file into memory
                raise ModelFormatError(f"{name}: {size} bytes, more than the {needed} bytes "
                                       "model.json declares for its whole group")
            with open(shard_path, "rb") as handle:
                shards[name] = handle.read()
    return read_model(model_json, shards)
