"""Checks on parsed JSON values (ints, finite numbers, object fields) and shape text for
messages, shared by the model.json reader and the layer configs."""

from __future__ import annotations

import json
import math

from webgl_backend.errors import ModelFormatError


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def product(shape) -> int:
    result = 1
    for dim in shape:
        result *= dim
    return result


def format_shape(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def as_json(value) -> str:
    """A value as it appears in model.json (null, not None), for messages."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def check_fields(obj, where: str, required, optional=()) -> None:
    if not isinstance(obj, dict):
        raise ModelFormatError(f"model.json: {where} must be an object, got {type(obj).__name__}")
    for key in required:
        if key not in obj:
            raise ModelFormatError(f"model.json: {where} is missing field '{key}' "
                                   f"(expected fields: {', '.join(required)})")
    allowed = set(required) | set(optional)
    for key in obj:
        if key not in allowed:
            raise ModelFormatError(f"model.json: {where} has unexpected field '{key}' "
                                   f"(allowed: {', '.join(list(required) + list(optional))})")
