"""Inverted dropout while training: the step's mask drawn on the GPU, and its product.

Mirrors model_export.layers.Dropout: in training each element is kept with probability
1 - rate and scaled by 1 / (1 - rate) (the float32 of that quotient, as numpy's
`x.dtype.type(1 / (1 - rate))`), else zeroed; the backward multiplies dy by the same
mask. The mask is a tensor of its own (one draw per step), so a test can read it back
and hand it to numpy. Draws depend on (seed, step) through the `hyper` texel (z =
step, w = seed), so nothing recompiles from step to step; `salt` tells the Dropout
layers of one model apart.
"""

from __future__ import annotations

from array import array

from webgl_backend.codegen import (
    DEFAULT_MAX_TEXTURE_SIZE,
    Program,
    build_program,
    elementwise_reads,
    float_literal,
)
from webgl_backend.errors import ShapeError
from webgl_backend.ops.optimizers import HYPER_SHAPE


def keep_scale(rate: float) -> float:
    """1 / (1 - rate) rounded to float32, as numpy's mask holds it."""
    return array("f", [1.0 / (1.0 - rate)])[0]


def _check(op: str, shape) -> tuple[int, ...]:
    shape = tuple(int(d) for d in shape)
    if not shape or any(d < 1 for d in shape):
        raise ShapeError(f"{op}: the tensor must have positive dimensions, got {shape}")
    return shape


def dropout_mask(shape: tuple[int, ...], rate: float, salt: int = 0, *,
                 max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE) -> Program:
    """The mask (shape): 1 / (1 - rate) where kept, 0 where dropped; input `hyper`."""
    shape = _check("dropout_mask", shape)
    if isinstance(rate, bool) or not 0.0 < float(rate) < 1.0:
        raise ValueError(f"dropout_mask: rate must be in (0, 1), got {rate!r}")
    if isinstance(salt, bool) or not 0 <= int(salt) < 2 ** 16:
        raise ValueError(f"dropout_mask: salt must be an int in [0, 65536), got {salt!r}")
    channels = shape[-1]
    values = {"HELPERS": "", "CHANNELS": channels, "C4": -(-channels // 4),
              "RATE": float_literal(float(array("f", [rate])[0])),
              "SCALE": float_literal(keep_scale(float(rate))), "SALT": int(salt)}
    return build_program("dropout_mask", "dropout_mask", {"hyper": HYPER_SHAPE}, shape, values,
                         max_texture_size)


def dropout_apply(shape: tuple[int, ...], *, max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                  widths: dict[str, int] | None = None) -> Program:
    """x * mask (both of `shape`; x may be a view in a texture `widths['x']` wide)."""
    shape = _check("dropout_apply", shape)
    values = {"HELPERS": "", **elementwise_reads(shape, ("x", "mask"), max_texture_size, widths)}
    values.pop("TAIL_MASK")
    return build_program("dropout_apply", "dropout_apply", {"x": shape, "mask": shape}, shape,
                         values, max_texture_size, widths)
