"""zero_padding2d: zeros around height and width of NHWC x (model_export/nn/padding.py)."""

from __future__ import annotations

from webgl_backend.codegen import DEFAULT_MAX_TEXTURE_SIZE, Program, build_program
from webgl_backend.errors import ShapeError


def zero_padding2d_forward(x_shape: tuple[int, ...], pads, *,
                           max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                           widths: dict[str, int] | None = None) -> Program:
    """y (n, top + h + bottom, left + w + right, c); pads ((top, bottom), (left, right))."""
    x_shape = tuple(int(d) for d in x_shape)
    (top, bottom), (left, right) = ((int(a), int(b)) for a, b in pads)
    if len(x_shape) != 4 or any(d < 1 for d in x_shape) or min(top, bottom, left, right) < 0:
        raise ShapeError(f"zero_padding2d: needs x (n, h, w, c) and non-negative pads, got "
                         f"x {x_shape}, pads {pads!r}")
    n, h, w, c = x_shape
    oh, ow = top + h + bottom, left + w + right
    values = {"N": n, "H": h, "W": w, "C": c, "OH": oh, "OW": ow, "TOP": top, "LEFT": left}
    return build_program("zero_padding2d_forward", "zero_padding2d_forward", {"x": x_shape},
                         (n, oh, ow, c), values, max_texture_size, widths)
