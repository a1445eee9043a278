"""Shard bytes -> weight values: lengths checked per group, decoded, every value finite."""

from __future__ import annotations

import array
import math
import sys

from webgl_backend.errors import ModelFormatError
from webgl_backend.model_format.artifacts import WeightEntry
from webgl_backend.json_values import product
from webgl_backend.model_format.quantization import (
    bytes_per_value,
    decode_float16,
    decode_uint8,
)
from webgl_backend.model_format.topology import LayerPlan

def group_bytes(g: int, paths: list[str], entries: list[WeightEntry], shards: dict,
                 owner: dict) -> memoryview:
    """Concatenate one group's shards after checking each exists and the lengths add up."""
    for p, name in enumerate(paths):
        if name not in shards:
            raise ModelFormatError(f"{name}: shard missing (model.json lists it as "
                                   f"weightsManifest[{g}].paths[{p}])")
    pieces = [memoryview(shards[name]).cast("B") for name in paths]
    needed = sum(product(e.shape) * bytes_per_value(e) for e in entries)
    held = sum(len(piece) for piece in pieces)
    if held != needed:
        raise ModelFormatError(_length_message(g, paths, [len(p) for p in pieces], needed,
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
        per_value = bytes_per_value(entry)
        count = product(entry.shape)
        if offset + count * per_value > held:
            available = max(held - offset, 0) // per_value
            layer = owner[entry.name]
            quantization = entry.quantization
            unit = "floats" if quantization is None else f"{quantization['dtype']} values"
            return (f"model.json: layers[{layer.index}] '{layer.name}': weight '{entry.name}' "
                    f"needs {count} {unit}, shards hold {available}")
        offset += count * per_value
    return None


def decode_weight(entry: WeightEntry, buffer: memoryview, offset: int,
                  layer: LayerPlan) -> array.array:
    count = product(entry.shape)
    raw = buffer[offset: offset + count * bytes_per_value(entry)]
    kind = None if entry.quantization is None else entry.quantization["dtype"]
    if kind is None:
        values = array.array("f")
        values.frombytes(raw)
        if sys.byteorder == "big":
            values.byteswap()
    elif kind == "float16":
        values = decode_float16(raw, count)
    else:
        values = decode_uint8(raw, entry.quantization["min"], entry.quantization["scale"])
    _check_finite(entry, values, layer)
    return values


def _check_finite(entry: WeightEntry, values: array.array, layer: LayerPlan) -> None:
    # A sum in double cannot overflow for float32 inputs, so it is finite iff all values are.
    if math.isfinite(sum(values)):
        return
    for index, value in enumerate(values):
        if not math.isfinite(value):
            raise ModelFormatError(f"model.json: layers[{layer.index}] '{layer.name}': weight "
                                   f"'{entry.name}' holds {value} at flat index {index} "
                                   f"(index {_unravel(index, entry.shape)} of shape "
                                   f"{list(entry.shape)})")
    raise AssertionError("sum was not finite but every value is")  # pragma: no cover


def _unravel(index: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    position = []
    for dim in reversed(shape):
        position.append(index % dim)
        index //= dim
    return tuple(reversed(position))
