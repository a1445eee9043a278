"""dense: y = activation(x @ kernel + bias), one draw, activation (or softmax) fused.

x is (..., k) and is read flat, so a Dense after Flatten or on the last axis of an NHWC
tensor needs no copy; kernel is Keras's (k, units), bias (units,).
"""

from __future__ import annotations

from webgl_backend.codegen import DEFAULT_MAX_TEXTURE_SIZE, Program, build_program, shape_size
from webgl_backend.errors import ShapeError
from webgl_backend.ops.activations import activation_snippet

# A fused softmax recomputes the row's logits in every fragment: fine for a few classes.
MAX_FUSED_SOFTMAX_UNITS = 64


def dense_output_shape(x_shape: tuple[int, ...], kernel_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Check x (..., k) against kernel (k, units); return y's shape (..., units)."""
    if len(x_shape) < 2 or any(d < 1 for d in x_shape):
        raise ShapeError(f"dense: x must be (n, ..., k) with positive sizes, got shape {x_shape}")
    if len(kernel_shape) != 2 or any(d < 1 for d in kernel_shape):
        raise ShapeError(f"dense: kernel must be 2-D (k, units), got shape {kernel_shape}")
    if x_shape[-1] != kernel_shape[0]:
        raise ShapeError(
            f"dense: x has {x_shape[-1]} features but kernel expects k={kernel_shape[0]} "
            f"(x {x_shape}, kernel {kernel_shape})"
        )
    return x_shape[:-1] + (kernel_shape[1],)


def dense_forward(
    x_shape: tuple[int, ...],
    kernel_shape: tuple[int, ...],
    bias_shape: tuple[int, ...] | None = None,
    *,
    activation: str = "linear",
    alpha: float | None = None,
    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
    widths: dict[str, int] | None = None,
) -> Program:
    """Program for y (..., units) = activation(x (..., k) @ kernel (k, units) + bias (units,)).

    `activation` is any fusable activation name or 'softmax' (over units). `widths`
    overrides input texture widths (x may be a reshaped view of a wider texture).
    """
    x_shape = tuple(int(d) for d in x_shape)
    kernel_shape = tuple(int(d) for d in kernel_shape)
    y_shape = dense_output_shape(x_shape, kernel_shape)
    k, units = kernel_shape
    inputs = {"x": x_shape, "kernel": kernel_shape}
    if bias_shape is not None:
        bias_shape = tuple(int(d) for d in bias_shape)
        if bias_shape != (units,):
            raise ShapeError(
                f"dense: bias must have shape ({units},) to match kernel {kernel_shape}, "
                f"got {bias_shape}"
            )
        inputs["bias"] = bias_shape
    values = {
        "ROWS": shape_size(x_shape) // k, "K": k, "UNITS": units,
        "BIAS_INIT": "get_bias(col)" if bias_shape is not None else "0.0",
    }
    if activation == "softmax":
        if units > MAX_FUSED_SOFTMAX_UNITS:
            raise ShapeError(
                f"dense: a fused softmax supports at most {MAX_FUSED_SOFTMAX_UNITS} units, got "
                f"{units}; use dense_forward(activation='linear') then softmax_forward"
            )
        return build_program("dense_forward", "dense_softmax_forward", inputs, y_shape, values,
                             max_texture_size, widths)
    values["ACTIVATION"] = activation_snippet(activation, alpha)
    return build_program("dense_forward", "dense_forward", inputs, y_shape, values,
                         max_texture_size, widths)
