"""softmax over the last axis, max-subtracted so exp never overflows.

The final Dense layer usually fuses it (see `ops/dense.py`, which fills the same
template with its own logits); this standalone program serves Activation('softmax')
layers and wide outputs.
"""

from __future__ import annotations

from webgl_backend.codegen import (
    DEFAULT_MAX_TEXTURE_SIZE,
    Program,
    build_program,
    input_width,
    lanes,
    shape_size,
)
from webgl_backend.errors import ShapeError


def softmax_values(units: int, row_logits: str) -> dict[str, object]:
    """Values for the softmax template: `row_logits` defines `vec4 row_logits(int row, int g)`.

    The last texel of a row holds units % 4 real values; the tails use only those lanes.
    """
    full, rest = divmod(units, 4)
    max_tail = sum_tail = ""
    if rest:
        comps = [f"logits[{full}].{lane}" for lane in lanes(rest)]
        max_tail = "\n".join(f"  largest = max(largest, {c});" for c in comps)
        sum_tail = "\n".join(f"  total += exp({c} - largest);" for c in comps)
    return {"UNITS": units, "U4": -(-units // 4), "U_FULL4": full, "ROW_LOGITS": row_logits,
            "MAX_TAIL": max_tail, "SUM_TAIL": sum_tail}


def softmax_forward(x_shape: tuple[int, ...], *,
                    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                    widths: dict[str, int] | None = None) -> Program:
    """y (..., units) = softmax(x (..., units)) along the last axis.

    x is addressed as a (rows, units) matrix over its own texture (same texel order).
    """
    x_shape = tuple(int(d) for d in x_shape)
    if not x_shape or any(d < 1 for d in x_shape):
        raise ShapeError(f"softmax: x must have positive dimensions, got shape {x_shape}")
    units = x_shape[-1]
    rows = shape_size(x_shape) // units
    x_width = input_width("x", x_shape, widths, max_texture_size)
    values = softmax_values(units, "vec4 row_logits(int row, int g) { return x_at(row, g); }")
    return build_program("softmax_forward", "softmax_forward", {"x": (rows, units)}, x_shape,
                         values, max_texture_size, {"x": x_width})


def softmax_backward(dy_shape: tuple[int, ...], *,
                     max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                     widths: dict[str, int] | None = None) -> Program:
    """dx (..., units) of a softmax along the last axis, from dy and its output y (both
    shaped like dx). The final softmax of a model never needs it: the loss is taken from
    the logits; a Softmax layer inside the model does."""
    dy_shape = tuple(int(d) for d in dy_shape)
    if not dy_shape or any(d < 1 for d in dy_shape):
        raise ShapeError(f"softmax_backward: dy must have positive dimensions, got shape "
                         f"{dy_shape}")
    units = dy_shape[-1]
    rows = shape_size(dy_shape) // units
    rest = units % 4
    mask = [1.0 if lane < rest else 0.0 for lane in range(4)] if rest else [1.0] * 4
    values = {"UNITS": units, "U4": -(-units // 4), "U_FULL4": units // 4,
              "TAIL_MASK": "vec4(" + ", ".join(f"{m:.1f}" for m in mask) + ")"}
    inputs = {"dy": (rows, units), "y": (rows, units)}
    return build_program("softmax_backward", "softmax_backward", inputs, dy_shape, values,
                         max_texture_size,
                         {name: input_width(name, dy_shape, widths, max_texture_size)
                          for name in inputs})
