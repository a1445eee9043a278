"""softmax over the last axis, max-subtracted so exp never overflows.

The final Dense layer usually fuses it (see `ops/dense.py`); this standalone program
serves Activation('softmax') layers and wide outputs.
"""

from __future__ import annotations

from webgl_backend.codegen import (
    DEFAULT_MAX_TEXTURE_SIZE,
    Program,
    build_program,
    shape_size,
    texture_layout,
)
from webgl_backend.errors import ShapeError


def softmax_forward(x_shape: tuple[int, ...], *,
                    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                    widths: dict[str, int] | None = None) -> Program:
    """y (..., units) = softmax(x (..., units)) along the last axis.

    x is addressed as a (rows, units) matrix over its own texture (same flat order).
    """
    x_shape = tuple(int(d) for d in x_shape)
    if not x_shape or any(d < 1 for d in x_shape):
        raise ShapeError(f"softmax: x must have positive dimensions, got shape {x_shape}")
    units = x_shape[-1]
    rows = shape_size(x_shape) // units
    x_width = (widths or {}).get("x") or texture_layout(x_shape, max_texture_size)[0]
    return build_program(
        "softmax_forward", "softmax_forward", {"x": (rows, units)}, x_shape,
        {"ROWS": rows, "UNITS": units}, max_texture_size, {"x": x_width},
    )
