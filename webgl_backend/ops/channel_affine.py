"""channel_affine: y = x * scale + shift per channel of the last axis, and the programs
fine-tuning a BatchNormalization needs around it.

BatchNormalization at inference is this map with scale = gamma / sqrt(moving_variance +
epsilon) and shift = beta - moving_mean * scale (model_export/nn/batchnorm.py,
`inference_affine`); the runtime folds it into the Dense or Conv2D before it where it can
and draws this program where it cannot (after an activation, say).

Fine-tuning keeps the moving statistics frozen and trains gamma and beta:
`batch_norm_coefficients` recomputes scale or shift from them, `batch_norm_backward_gamma`
and `batch_norm_backward_beta` are their gradients, and dx = dy * scale is `channel_scale`,
which with `row_scale` also refolds a trained kernel (a BatchNormalization after its layer
scales the kernel's columns, one before it its rows).
"""

from __future__ import annotations

from webgl_backend.codegen import (
    DEFAULT_MAX_TEXTURE_SIZE,
    LANE_MASK,
    Program,
    build_program,
    float_literal,
    input_width,
    shape_size,
)
from webgl_backend.errors import ShapeError
from webgl_backend.ops.dense import bias_backward_program


def _per_channel_values(op: str, x_shape: tuple[int, ...]) -> dict[str, object]:
    """Template values of a program writing x's shape, 4 channels of the last axis each."""
    if len(x_shape) not in (2, 4) or any(d < 1 for d in x_shape):
        raise ShapeError(f"{op}: x must be (n, c) or (n, h, w, c) with positive "
                         f"sizes, got shape {x_shape}")
    if len(x_shape) == 4:
        coords, lane, args = "ivec4", "w", "o.x, o.y, o.z, c4"
    else:
        coords, lane, args = "ivec2", "y", "o.x, c4"
    return {"OP": op, "C": x_shape[-1], "COORDS_TYPE": coords, "C4_LANE": lane,
            "X_ARGS": args}


def channel_affine_forward(x_shape: tuple[int, ...], *,
                           max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                           widths: dict[str, int] | None = None) -> Program:
    """Inputs x (n, c) or (n, h, w, c), scale (c,), shift (c,); output like x."""
    x_shape = tuple(int(d) for d in x_shape)
    values = _per_channel_values("channel_affine_forward", x_shape)
    channels = x_shape[-1]
    return build_program("channel_affine_forward", "channel_affine_forward",
                         {"x": x_shape, "scale": (channels,), "shift": (channels,)}, x_shape,
                         values, max_texture_size, widths)


def channel_scale(x_shape: tuple[int, ...], *, max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                  widths: dict[str, int] | None = None) -> Program:
    """Inputs x (n, c) or (n, h, w, c) and scale (c,); y = x * scale, like x."""
    x_shape = tuple(int(d) for d in x_shape)
    values = _per_channel_values("channel_scale", x_shape)
    values["X_ARGS"] = values["X_ARGS"].replace("c4", f"o.{values['C4_LANE']}")
    return build_program("channel_scale", "channel_scale",
                         {"x": x_shape, "scale": (x_shape[-1],)}, x_shape, values,
                         max_texture_size, widths)


def row_scale(x_shape: tuple[int, ...], *,
              max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE) -> Program:
    """Inputs x (rows, c) and scale (rows,); y[i, :] = x[i, :] * scale[i]."""
    x_shape = tuple(int(d) for d in x_shape)
    if len(x_shape) != 2 or any(d < 1 for d in x_shape):
        raise ShapeError(f"row_scale: x must be (rows, c) with positive sizes, got {x_shape}")
    values = {"OP": "row_scale", "ROWS": x_shape[0], "C": x_shape[1]}
    return build_program("row_scale", "row_scale", {"x": x_shape, "scale": (x_shape[0],)},
                         x_shape, values, max_texture_size)


def _check_channels(op: str, channels: int, epsilon: float) -> None:
    if channels < 1:
        raise ShapeError(f"{op}: channels must be >= 1, got {channels}")
    if not epsilon > 0:
        raise ShapeError(f"{op}: epsilon must be > 0, got {epsilon}")


def batch_norm_coefficients(channels: int, epsilon: float, output: str, *, gamma: bool = True,
                            beta: bool = True,
                            max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE) -> Program:
    """`output` 'scale' or 'shift' (channels,) from gamma (when `gamma`), beta (when `beta`,
    for the shift), moving mean and moving variance, in that sampler order."""
    op = f"batch_norm_{output}"
    _check_channels(op, channels, epsilon)
    if output not in ("scale", "shift"):
        raise ValueError(f"batch_norm_coefficients: output must be 'scale' or 'shift', got "
                         f"{output!r}")
    inputs = {}
    if gamma:
        inputs["gamma"] = (channels,)
    if beta and output == "shift":
        inputs["beta"] = (channels,)
    inputs.update(mean=(channels,), variance=(channels,))
    shifted = ("beta_at(c4)" if "beta" in inputs else "vec4(0.0)") + " - mean_at(c4) * scale"
    values = {"OP": op, "WHAT": output, "C": channels, "LANE_MASK": LANE_MASK,
              "EPSILON": float_literal(epsilon),
              "GAMMA": "gamma_at(c4)" if gamma else "vec4(1.0)",
              "RESULT": "scale" if output == "scale" else shifted}
    if output == "scale":
        inputs.pop("mean")
    return build_program(op, "batch_norm_coefficients", inputs, (channels,), values,
                         max_texture_size)


def batch_norm_backward_gamma(x_shape: tuple[int, ...], epsilon: float, *,
                              max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                              widths: dict[str, int] | None = None) -> Program:
    """Inputs dy and x (both x_shape), moving mean and variance (c,); dgamma (c,)."""
    op = "batch_norm_backward_gamma"
    x_shape = tuple(int(d) for d in x_shape)
    channels = x_shape[-1]
    _check_channels(op, channels, epsilon)
    c4 = -(-channels // 4)
    widths = {name: input_width(name, x_shape, widths, max_texture_size) for name in ("dy", "x")}
    if min(widths.values()) < c4:
        raise ShapeError(f"{op}: textures of widths {widths} are narrower than a row "
                         f"({c4} texels)")
    values = {"OP": op, "C": channels, "C4": c4, "ROWS": shape_size(x_shape) // channels,
              "EPSILON": float_literal(epsilon), "LANE_MASK": LANE_MASK}
    return build_program(op, "batch_norm_backward_gamma",
                         {"dy": x_shape, "x": x_shape, "mean": (channels,),
                          "variance": (channels,)}, (channels,), values, max_texture_size,
                         widths)


def batch_norm_backward_beta(dy_shape: tuple[int, ...], *,
                             max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                             widths: dict[str, int] | None = None) -> Program:
    """dbeta (c,) = dy summed over every leading axis."""
    return bias_backward_program("batch_norm_backward_beta", tuple(dy_shape), None, "linear",
                                 None, max_texture_size, widths)


def batch_norm_fold_bias(channels: int, *,
                         max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE) -> Program:
    """Inputs bias, scale and shift (channels,): bias * scale + shift, the bias of a layer
    with the BatchNormalization after it folded in."""
    op = "batch_norm_fold_bias"
    if channels < 1:
        raise ShapeError(f"{op}: channels must be >= 1, got {channels}")
    return build_program(op, "batch_norm_fold_bias",
                         {"bias": (channels,), "scale": (channels,), "shift": (channels,)},
                         (channels,), {"OP": op, "C": channels}, max_texture_size)
