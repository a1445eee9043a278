"""model.json bytes or text -> a dict: UTF-8, size limit, strict JSON (no NaN, no duplicate
keys)."""

from __future__ import annotations

import json

from webgl_backend.errors import ModelFormatError
from webgl_backend.model_format.limits import MAX_MODEL_JSON_BYTES

def _reject_constant(name: str):
    raise ModelFormatError(f"model.json: {name} is not valid JSON (use finite numbers)")


def _no_duplicate_keys(pairs: list) -> dict:
    result = {}
    for key, value in pairs:
        if key in result:
            raise ModelFormatError(f"model.json: duplicate key '{key}' in one object")
        result[key] = value
    return result


def load_json(data: bytes | str) -> dict:
    if isinstance(data, (bytes, bytearray, memoryview)):
        if len(data) > MAX_MODEL_JSON_BYTES:
            raise ModelFormatError(f"model.json: {len(data)} bytes, over the limit of "
                                   f"{MAX_MODEL_JSON_BYTES} (MAX_MODEL_JSON_BYTES)")
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as error:
            raise ModelFormatError(f"model.json: not UTF-8 text ({error.reason} at byte "
                                   f"{error.start})") from None
    if not isinstance(data, str):
        raise ModelFormatError(f"model.json: expected bytes or text, got {type(data).__name__}")
    if len(data) > MAX_MODEL_JSON_BYTES:
        raise ModelFormatError(f"model.json: {len(data)} characters, over the limit of "
                               f"{MAX_MODEL_JSON_BYTES}")
    try:
        model_json = json.loads(data, object_pairs_hook=_no_duplicate_keys,
                                parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise ModelFormatError(f"model.json: not JSON ({error.msg} at line {error.lineno} "
                               f"column {error.colno})") from None
    except RecursionError:
        raise ModelFormatError("model.json: not JSON we accept (nested too deeply)") from None
    if not isinstance(model_json, dict):
        raise ModelFormatError(f"model.json: the top level must be an object, got "
                               f"{type(model_json).__name__}")
    return model_json
