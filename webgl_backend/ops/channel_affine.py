"""channel_affine: y = x * scale + shift per channel of the last axis.

BatchNormalization at inference is this map with scale = gamma / sqrt(moving_variance +
epsilon) and shift = beta - moving_mean * scale (model_export/nn/batchnorm.py,
`inference_affine`); the runtime folds it into the Dense or Conv2D before it where it can
and draws this program where it cannot (after an activation, say).
"""

from __future__ import annotations

from webgl_backend.codegen import DEFAULT_MAX_TEXTURE_SIZE, Program, build_program
from webgl_backend.errors import ShapeError


def channel_affine_forward(x_shape: tuple[int, ...], *,
                           max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                           widths: dict[str, int] | None = None) -> Program:
    """Inputs x (n, c) or (n, h, w, c), scale (c,), shift (c,); output like x."""
    x_shape = tuple(int(d) for d in x_shape)
    if len(x_shape) not in (2, 4) or any(d < 1 for d in x_shape):
        raise ShapeError(f"channel_affine: x must be (n, c) or (n, h, w, c) with positive "
                         f"sizes, got shape {x_shape}")
    channels = x_shape[-1]
    if len(x_shape) == 4:
        coords, lane, args = "ivec4", "w", "o.x, o.y, o.z, c4"
    else:
        coords, lane, args = "ivec2", "y", "o.x, c4"
    values = {"OP": "channel_affine_forward", "C": channels, "COORDS_TYPE": coords,
              "C4_LANE": lane, "X_ARGS": args}
    return build_program("channel_affine_forward", "channel_affine_forward",
                         {"x": x_shape, "scale": (channels,), "shift": (channels,)}, x_shape,
                         values, max_texture_size, widths)
