"""Write a model back in the TF.js layers format: model.json text + float32 weight shards.

Standard library only (runs in Pyodide): the counterpart of `model_format.read_model`
for a model whose weights changed (fine-tuning in the page). The topology is the one
that was read; the manifest is rewritten as one group of float32 weights in layer order
(kernel before bias), concatenated little-endian and split into 4 MB shards named
`group1-shard{i}of{N}.bin`, as tfjs-converter's `write_weights.py` does.
"""

from __future__ import annotations

import copy
import json
import math
import sys
from array import array

from webgl_backend.errors import ModelFormatError
from webgl_backend.model_format import ModelArtifacts

# tfjs-converter's default: the largest file every major browser caches.
SHARD_BYTES = 4 * 1024 * 1024
CONVERTED_BY = "shadernet fine-tuning (webgl_backend.model_writer)"


def _weight_bytes(name: str, shape: tuple[int, ...], values) -> bytes:
    """float32 little-endian bytes of one weight; checks count and finiteness."""
    values = values if isinstance(values, array) and values.typecode == "f" else array(
        "f", values)
    needed = math.prod(shape)
    if len(values) != needed:
        raise ModelFormatError(f"write_model: weight '{name}' has shape {list(shape)} "
                               f"({needed} floats), got {len(values)} values")
    for index, value in enumerate(values):
        if not math.isfinite(value):
            raise ModelFormatError(f"write_model: weight '{name}' holds {value} at flat index "
                                   f"{index}; refusing to write a non-finite model")
    if sys.byteorder != "little":
        values = array("f", values)
        values.byteswap()
    return values.tobytes()


def write_model(artifacts: ModelArtifacts, weights: dict[str, object],
                shard_bytes: int = SHARD_BYTES) -> tuple[str, dict[str, bytes]]:
    """(model.json text, {shard file name: bytes}) for `artifacts` with new `weights`.

    `weights` maps every full weight name ("dense_1/kernel") of the topology to its
    float32 values, flat in row-major order of its shape. Everything is checked before
    anything is produced.
    """
    expected = [(name, tuple(shape)) for spec in artifacts.layers
                for name, shape, _ in spec.weights]
    missing = [name for name, _ in expected if name not in weights]
    extra = sorted(set(weights) - {name for name, _ in expected})
    if missing or extra:
        raise ModelFormatError(f"write_model: weights must be exactly the topology's; missing "
                               f"{missing or 'none'}, unknown {extra or 'none'}")
    if shard_bytes < 4:
        raise ValueError(f"write_model: shard_bytes must be >= 4, got {shard_bytes}")
    data = b"".join(_weight_bytes(name, shape, weights[name]) for name, shape in expected)
    count = max(1, -(-len(data) // shard_bytes))
    names = [f"group1-shard{i + 1}of{count}.bin" for i in range(count)]
    shards = {name: data[i * shard_bytes:(i + 1) * shard_bytes] for i, name in enumerate(names)}
    model_json = copy.deepcopy(artifacts.model_json)
    model_json["convertedBy"] = CONVERTED_BY
    model_json["weightsManifest"] = [{
        "paths": names,
        "weights": [{"name": name, "shape": list(shape), "dtype": "float32"}
                    for name, shape in expected],
    }]
    return json.dumps(model_json), shards
