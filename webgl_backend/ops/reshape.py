"""reshape: a view when the packing allows it, else one copy draw.

Tensors pack their last axis four values per texel. Reshaping keeps the flat element
order; it keeps the texel order too (so the texture can be shared) when the last axis
is unchanged or is a multiple of 4 both before and after. Otherwise (Flatten of a
(h, w, 1) image, say) `reshape_forward` repacks in one draw.
"""

from __future__ import annotations

from webgl_backend.codegen import DEFAULT_MAX_TEXTURE_SIZE, Program, build_program, shape_size
from webgl_backend.errors import ShapeError


def is_view(x_shape: tuple[int, ...], y_shape: tuple[int, ...]) -> bool:
    """Whether y can share x's texture (same texel order)."""
    return x_shape[-1] == y_shape[-1] or (x_shape[-1] % 4 == 0 and y_shape[-1] % 4 == 0)


def reshape_forward(x_shape: tuple[int, ...], y_shape: tuple[int, ...], *,
                    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                    widths: dict[str, int] | None = None) -> Program:
    """Program copying x into y's packing (same flat order, same size)."""
    x_shape = tuple(int(d) for d in x_shape)
    y_shape = tuple(int(d) for d in y_shape)
    if shape_size(x_shape) != shape_size(y_shape) or not x_shape or not y_shape:
        raise ShapeError(
            f"reshape: cannot view {x_shape} ({shape_size(x_shape)} values) as {y_shape} "
            f"({shape_size(y_shape)} values)"
        )
    values = {"X_SHAPE": x_shape, "Y_SHAPE": y_shape, "X_LAST": x_shape[-1],
              "X_LAST4": -(-x_shape[-1] // 4), "Y_LAST": y_shape[-1],
              "Y_LAST4": -(-y_shape[-1] // 4)}
    return build_program("reshape_forward", "reshape_forward", {"x": x_shape}, y_shape, values,
                         max_texture_size, widths)
