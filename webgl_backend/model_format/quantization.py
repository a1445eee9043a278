"""How weights are stored: float32, float16, or affine uint8 (value = q * scale + min)."""

from __future__ import annotations

import array
import struct
import sys

from webgl_backend.errors import ModelFormatError
from webgl_backend.model_format.artifacts import WeightEntry
from webgl_backend.json_values import check_fields, is_number

QUANTIZATION_BYTES = {"float16": 2, "uint8": 1}


def parse_quantization(where: str, quantization) -> dict:
    if not isinstance(quantization, dict):
        raise ModelFormatError(f"model.json: {where}: quantization must be an object, got "
                               f"{quantization!r}")
    kind = quantization.get("dtype")
    if kind == "float16":
        check_fields(quantization, f"{where} quantization", ("dtype",), ("original_dtype",))
    elif kind == "uint8":
        check_fields(quantization, f"{where} quantization", ("dtype", "min", "scale"),
                      ("original_dtype",))
        if not is_number(quantization["min"]):
            raise ModelFormatError(f"model.json: {where}: quantization min must be a finite "
                                   f"number, got {quantization['min']!r}")
        if not is_number(quantization["scale"]) or quantization["scale"] <= 0:
            raise ModelFormatError(f"model.json: {where}: quantization scale must be a positive "
                                   f"finite number, got {quantization['scale']!r}")
    else:
        raise ModelFormatError(f"model.json: {where}: quantization dtype {kind!r} is not supported "
                               "(expected 'float16' or 'uint8')")
    if quantization.get("original_dtype", "float32") != "float32":
        raise ModelFormatError(f"model.json: {where}: quantization original_dtype "
                               f"{quantization['original_dtype']!r}, expected 'float32'")
    return dict(quantization)


def bytes_per_value(entry: WeightEntry) -> int:
    if entry.quantization is None:
        return 4
    return QUANTIZATION_BYTES[entry.quantization["dtype"]]


def decode_float16(raw: memoryview, count: int) -> array.array:
    """Little-endian IEEE half -> float32 (exact). One C-level call, no per-value Python."""
    if sys.byteorder == "little":
        try:
            return array.array("f", raw.cast("e"))  # Python >= 3.12 can cast to half
        except (TypeError, ValueError):
            pass
    return array.array("f", struct.unpack(f"<{count}e", raw))


def decode_uint8(raw: memoryview, minimum: float, scale: float) -> array.array:
    """value = q * scale + min in double, rounded to float32: what TF.js's decodeWeights does."""
    table = [q * scale + minimum for q in range(256)]
    return array.array("f", map(table.__getitem__, raw))
