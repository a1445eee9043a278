"""model.json parsed once, within limits: total size, nesting depth, number length.

Python's own int-digit limit (4,300 digits) escapes `json.loads` as a plain ValueError, and
a deeply nested document as RecursionError; here every such input becomes a JsonLimitError
naming the limit. Duplicate keys and NaN/Infinity are refused as the model reader refuses them.
"""

from __future__ import annotations

import json
import math

MAX_JSON_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_NUMBER_CHARS = 64


class JsonLimitError(ValueError):
    """The document is not JSON, or not JSON within the limits; the message says which."""


def parse_json(data: bytes, what: str = "model.json") -> object:
    if len(data) > MAX_JSON_BYTES:
        raise JsonLimitError(f"{what}: {len(data)} bytes, over the limit of {MAX_JSON_BYTES} "
                             "bytes for an uploaded model.json")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise JsonLimitError(f"{what}: not UTF-8 text ({error.reason} at byte "
                             f"{error.start})") from None
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicate_keys,
                           parse_int=_parse_int, parse_float=_parse_float,
                           parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise JsonLimitError(f"{what}: not JSON ({error.msg} at line {error.lineno} "
                             f"column {error.colno})") from None
    except RecursionError:
        raise JsonLimitError(f"{what}: nested more than {MAX_DEPTH} levels deep") from None
    except _Refused as error:
        raise JsonLimitError(f"{what}: {error}") from None
    if nesting_depth(value) > MAX_DEPTH:
        raise JsonLimitError(f"{what}: nested more than {MAX_DEPTH} levels deep")
    return value


def nesting_depth(value: object) -> int:
    """Levels of objects/arrays (a scalar is 0), without recursion; stops past MAX_DEPTH."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


class _Refused(ValueError):
    pass


def _no_duplicate_keys(pairs: list) -> dict:
    result = {}
    for key, value in pairs:
        if key in result:
            raise _Refused(f"duplicate key {key[:80]!r} in one object")
        result[key] = value
    return result


def _checked_literal(literal: str) -> str:
    if len(literal) > MAX_NUMBER_CHARS:
        raise _Refused(f"a number of {len(literal)} characters ({literal[:20]}...), over "
                       f"the limit of {MAX_NUMBER_CHARS}")
    return literal


def _parse_int(literal: str) -> int:
    return int(_checked_literal(literal))


def _parse_float(literal: str) -> float:
    value = float(_checked_literal(literal))
    if not math.isfinite(value):
        raise _Refused(f"the number {literal} overflows a double")
    return value


def _refuse_constant(name: str):
    raise _Refused(f"{name} is not valid JSON (use finite numbers)")
