"""Host data: the one place where values from the caller (Python sequences, buffers, JS
typed arrays in the page) become flat float32 buffers for upload, in bulk, and where the
JS values GL needs (Float32Array staging buffers, int arrays) are made."""

from __future__ import annotations

import sys
from array import array

IN_PYODIDE = sys.platform == "emscripten"


def as_float_view(values):
    """A float32 sequence view of `values` without copying where possible.

    Accepts array('f'), a float32 memoryview or bytes, a list or tuple, or a JS
    Float32Array (one bulk copy across the FFI).
    """
    if isinstance(values, (list, tuple)):
        return array("f", values)
    convert = getattr(values, "to_py", None)
    if convert is not None and not isinstance(values, (memoryview, array)):
        values = convert()
    view = memoryview(values)
    if view.format != "f":
        view = view.cast("B").cast("f")
    return view


def as_labels(labels) -> array:
    """n labels (list, array('i'), memoryview, JS Int32Array) as array('f') for upload."""
    convert = getattr(labels, "to_py", None)
    if convert is not None and not isinstance(labels, (list, tuple, memoryview, array)):
        labels = convert()
    if isinstance(labels, memoryview):
        labels = labels.tolist()
    return array("f", [float(v) for v in labels])


def to_py(value):
    """A JS object/array as a Python dict/list (one level); Python values pass through."""
    convert = getattr(value, "to_py", None)
    return convert(depth=1) if convert is not None else value


def as_bytes(value) -> bytes:
    if isinstance(value, bytes):
        return value
    to_bytes = getattr(value, "to_bytes", None)
    if to_bytes is not None and not isinstance(value, (memoryview, array, bytearray)):
        return to_bytes()  # a JS Uint8Array / ArrayBuffer: one bulk copy
    return bytes(value)


def as_floats(value) -> array:
    """array('f') of a float32 buffer, a list, or a JS Float32Array."""
    if isinstance(value, array) and value.typecode == "f":
        return value
    if isinstance(value, (list, tuple)):
        return array("f", value)
    out = array("f")
    out.frombytes(as_bytes(value) if not isinstance(value, memoryview) else value.cast("B"))
    return out


def as_ints(value) -> array:
    """array('i') of a list, an int array, or a JS Int32Array / Uint8Array."""
    if isinstance(value, array) and value.typecode == "i":
        return value
    convert = getattr(value, "to_py", None)
    if convert is not None and not isinstance(value, (memoryview, array)):
        value = convert()  # typed array -> memoryview with its element format
    if isinstance(value, memoryview):
        return array("i", value.tolist())
    return array("i", (int(v) for v in value))


def float32_factory(gl):
    """How to make a JS Float32Array of n floats for this context."""
    fake_factory = getattr(gl, "new_float32_array", None)
    if fake_factory is not None and not IN_PYODIDE:
        return fake_factory
    from js import Float32Array  # noqa: PLC0415 - only importable inside Pyodide

    return Float32Array.new


def uint8_array(gl, data: bytes):
    """`data` as what texSubImage2D takes for UNSIGNED_BYTE: a JS Uint8Array in the page
    (one bulk copy), FakeGL's byte buffer in CPython."""
    fake_factory = getattr(gl, "new_uint8_array", None)
    if fake_factory is not None and not IN_PYODIDE:
        return fake_factory(data)
    from pyodide.ffi import to_js  # noqa: PLC0415 - only importable inside Pyodide

    return to_js(memoryview(data))


def js_list(values: list[int]):
    """A JS Array of ints in the page (a Python list would cross as a proxy), else the list."""
    if not IN_PYODIDE:
        return values
    from pyodide.ffi import to_js  # noqa: PLC0415 - only importable inside Pyodide

    return to_js(values)
