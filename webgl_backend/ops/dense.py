"""dense: y = activation(x @ kernel + bias), one draw, activation (or softmax) fused.

x is (..., k) and is read flat, so a Dense after Flatten or on the last axis of an NHWC
tensor needs no copy; kernel is Keras's (k, units), bias (units,).
"""

from __future__ import annotations

from webgl_backend.codegen import (
    DEFAULT_MAX_TEXTURE_SIZE,
    Program,
    build_program,
    fill_template,
    lanes,
    shape_size,
    texture_layout,
)
from webgl_backend.errors import ShapeError
from webgl_backend.ops.activations import activation_snippet
from webgl_backend.ops.softmax import softmax_values

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
    full, rest = divmod(k, 4)
    k_tail = ""
    if rest:
        # The last texel of x's row holds k % 4 real values: use only those lanes.
        terms = " + ".join(f"xs.{lane} * kernel_at({4 * full + j}, u4)"
                           for j, lane in enumerate(lanes(rest)))
        k_tail = f"  {{\n    vec4 xs = texelFetch(x, texel, 0);\n    acc += {terms};\n  }}"
    values = {
        "ROWS": shape_size(x_shape) // k, "K": k, "K4": -(-k // 4), "K_FULL4": full,
        "K_TAIL": k_tail, "UNITS": units, "U4": -(-units // 4),
        "X_WIDTH": (widths or {}).get("x") or texture_layout(x_shape, max_texture_size)[0],
        "BIAS_INIT": "bias_at(u4)" if bias_shape is not None else "vec4(0.0)",
    }
    logits = fill_template("dense_logits", values)
    if activation == "softmax":
        if units > MAX_FUSED_SOFTMAX_UNITS:
            raise ShapeError(
                f"dense: a fused softmax supports at most {MAX_FUSED_SOFTMAX_UNITS} units, got "
                f"{units}; use dense_forward(activation='linear') then softmax_forward"
            )
        row_logits = logits + "\nvec4 row_logits(int row, int g) { return dense_logits(row, g); }"
        return build_program("dense_forward", "softmax_forward", inputs, y_shape,
                             {**values, **softmax_values(units, row_logits)},
                             max_texture_size, widths)
    values.update(ACTIVATION=activation_snippet(activation, alpha), DENSE_LOGITS=logits)
    return build_program("dense_forward", "dense_forward", inputs, y_shape, values,
                         max_texture_size, widths)
