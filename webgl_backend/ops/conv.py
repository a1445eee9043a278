"""conv2d: NHWC cross-correlation with a (kh, kw, cin, cout) kernel, bias and activation fused.

Also holds the sliding-window geometry shared with pooling. It is TF's rule (tfjs-core
`conv_util.ts`), the same as model_export/nn/geometry.py: `valid` gives
floor((in - k) / stride) + 1; `same` gives ceil(in / stride) with total padding
max((out - 1) * stride + k - in, 0), the odd extra row/column at the bottom/right.
"""

from __future__ import annotations

from dataclasses import dataclass

from webgl_backend.codegen import (
    DEFAULT_MAX_TEXTURE_SIZE,
    Program,
    bias_init,
    build_program,
    layer_inputs,
    tail_terms,
)
from webgl_backend.errors import ShapeError
from webgl_backend.ops.activations import activation_snippet
from webgl_backend.ops.dense import bias_backward_program
from webgl_backend.ops.gradients import dz_accessors, gradient_inputs, unpacked_dot_tail

PADDINGS = ("valid", "same")


@dataclass(frozen=True)
class WindowGeometry:
    """Output size (oh, ow) and the top/left padding of a 2-D window op."""

    oh: int
    ow: int
    pad_top: int
    pad_left: int


def _pair(op: str, name: str, value) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or any(not isinstance(v, int) or v < 1 for v in pair):
        raise ShapeError(f"{op}: {name} must be a positive int or pair of them, got {value!r}")
    return pair


def _axis(op: str, size: int, window: int, stride: int, padding: str) -> tuple[int, int]:
    """(output size, padding before) along one axis."""
    if padding == "valid":
        if window > size:
            raise ShapeError(
                f"{op}: window {window} does not fit input size {size} with padding='valid'"
            )
        return (size - window) // stride + 1, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    return out, total // 2


def window_geometry(op: str, x_shape: tuple[int, ...], window, strides,
                    padding: str) -> WindowGeometry:
    """Geometry of a (kh, kw) window with `strides` over x (n, h, w, c); checks everything."""
    if len(x_shape) != 4 or any(d < 1 for d in x_shape):
        raise ShapeError(f"{op}: x must be 4-D (n, h, w, c) with positive sizes, got {x_shape}")
    if padding not in PADDINGS:
        raise ShapeError(f"{op}: padding must be 'same' or 'valid', got {padding!r}")
    kh, kw = _pair(op, "window", window)
    sh, sw = _pair(op, "strides", strides)
    oh, pad_top = _axis(op, x_shape[1], kh, sh, padding)
    ow, pad_left = _axis(op, x_shape[2], kw, sw, padding)
    return WindowGeometry(oh, ow, pad_top, pad_left)


def _check_kernel(op: str, x_shape: tuple[int, ...], kernel_shape: tuple[int, ...]) -> None:
    """kernel must be 4-D (kh, kw, cin, cout) with cin matching x's channels (when x is
    4-D; `window_geometry` reports any other x)."""
    if len(kernel_shape) != 4 or any(d < 1 for d in kernel_shape):
        raise ShapeError(f"{op}: kernel must be 4-D (kh, kw, cin, cout), got {kernel_shape}")
    if len(x_shape) == 4 and x_shape[3] != kernel_shape[2]:
        raise ShapeError(
            f"{op}: input has {x_shape[3]} channels but kernel expects cin={kernel_shape[2]} "
            f"(x {x_shape}, kernel {kernel_shape})"
        )


def _conv_values(x_shape, kernel_shape, strides, g: WindowGeometry) -> dict[str, object]:
    """The template values every conv2d program shares: shapes, strides and geometry."""
    n, h, w, cin = x_shape
    kh, kw, _, cout = kernel_shape
    sh, sw = _pair("conv2d", "strides", strides)
    return {"N": n, "H": h, "W": w, "CIN": cin, "KH": kh, "KW": kw, "COUT": cout,
            "OH": g.oh, "OW": g.ow, "SH": sh, "SW": sw,
            "PAD_TOP": g.pad_top, "PAD_LEFT": g.pad_left}


def conv2d_forward(
    x_shape: tuple[int, ...],
    kernel_shape: tuple[int, ...],
    bias_shape: tuple[int, ...] | None = None,
    *,
    strides=(1, 1),
    padding: str = "valid",
    activation: str = "linear",
    alpha: float | None = None,
    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
    widths: dict[str, int] | None = None,
) -> Program:
    """Program for y (n, oh, ow, cout) = activation(conv(x (n, h, w, cin), kernel) + bias).

    `widths` overrides input texture widths (for views of other textures).
    """
    x_shape = tuple(int(d) for d in x_shape)
    kernel_shape = tuple(int(d) for d in kernel_shape)
    _check_kernel("conv2d", x_shape, kernel_shape)
    cin, cout = kernel_shape[2:]
    g = window_geometry("conv2d", x_shape, kernel_shape[:2], strides, padding)
    inputs = layer_inputs("conv2d", x_shape, kernel_shape, bias_shape)
    full, rest = divmod(cin, 4)
    cin_tail = ""
    if rest:
        # The last texel of an input pixel holds cin % 4 real channels: only those lanes.
        terms = tail_terms(cin, "kernel_at(ky, kx, {i}, co4)")
        cin_tail = (f"      {{\n        vec4 xs = x_at(y.x, in_row, in_col, {full});\n"
                    f"        acc += {terms};\n      }}")
    values = _conv_values(x_shape, kernel_shape, strides, g)
    values.update(CIN_FULL4=full, CIN_TAIL=cin_tail, BIAS_INIT=bias_init(inputs, "co4"),
                  ACTIVATION=activation_snippet(activation, alpha))
    return build_program("conv2d_forward", "conv2d_forward", inputs,
                         (x_shape[0], g.oh, g.ow, cout), values, max_texture_size, widths)


# -- backward (fine-tuning) ------------------------------------------------------------
# dz = dy * f'(y) for a fused activation is read through `dz_at` (ops/gradients.py).


def _conv_backward_geometry(op: str, x_shape, kernel_shape, dy_shape, strides,
                            padding: str) -> WindowGeometry:
    """Check x (n, h, w, cin), kernel (kh, kw, cin, cout) and dy (n, oh, ow, cout)."""
    x_shape = tuple(int(d) for d in x_shape)
    _check_kernel(op, x_shape, kernel_shape)
    g = window_geometry(op, x_shape, kernel_shape[:2], strides, padding)
    expected = (x_shape[0], g.oh, g.ow, kernel_shape[3])
    if tuple(dy_shape) != expected:
        raise ShapeError(f"{op}: dy has shape {tuple(dy_shape)}, expected {expected} for x "
                         f"{x_shape}, kernel {tuple(kernel_shape)}, strides {strides}, "
                         f"padding {padding!r}")
    return g


def conv2d_backward_input(
    dy_shape: tuple[int, ...],
    kernel_shape: tuple[int, ...],
    y_shape: tuple[int, ...] | None = None,
    *,
    x_shape: tuple[int, ...],
    strides=(1, 1),
    padding: str = "valid",
    activation: str = "linear",
    alpha: float | None = None,
    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
    widths: dict[str, int] | None = None,
) -> Program:
    """dx (n, h, w, cin) of conv2d from dy (n, oh, ow, cout) and kernel (kh, kw, cin, cout);
    dz = dy * f'(y). `x_shape` is needed: with stride 2, oh does not determine h."""
    x_shape = tuple(int(d) for d in x_shape)
    kernel_shape = tuple(int(d) for d in kernel_shape)
    dy_shape = tuple(int(d) for d in dy_shape)
    g = _conv_backward_geometry("conv2d_backward_input", x_shape, kernel_shape, dy_shape,
                                strides, padding)
    inputs = gradient_inputs("conv2d_backward_input", dy_shape, y_shape, activation)
    inputs["kernel"] = kernel_shape
    cout = kernel_shape[3]
    full = cout // 4
    values = _conv_values(x_shape, kernel_shape, strides, g)
    values.update(
        CO_FULL4=full, HELPERS=dz_accessors(4, activation, alpha),
        CO_TAIL=unpacked_dot_tail(cout, full, "dz_at(o.x, oy, ox, {t})",
                                  "kernel_at(ky, kx, {i}, {t})", rows=("ci", "c1", "c2", "c3")),
    )
    return build_program("conv2d_backward_input", "conv2d_backward_input", inputs, x_shape,
                         values, max_texture_size, widths)


def conv2d_backward_kernel(
    x_shape: tuple[int, ...],
    dy_shape: tuple[int, ...],
    y_shape: tuple[int, ...] | None = None,
    *,
    kernel_size,
    strides=(1, 1),
    padding: str = "valid",
    activation: str = "linear",
    alpha: float | None = None,
    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
    widths: dict[str, int] | None = None,
) -> Program:
    """dkernel (kh, kw, cin, cout) = sum over n, oy, ox of x window cell * dz, from x
    (n, h, w, cin) and dy (n, oh, ow, cout); dz = dy * f'(y)."""
    x_shape = tuple(int(d) for d in x_shape)
    dy_shape = tuple(int(d) for d in dy_shape)
    kh, kw = _pair("conv2d_backward_kernel", "kernel_size", kernel_size)
    if len(x_shape) != 4 or len(dy_shape) != 4:
        raise ShapeError(f"conv2d_backward_kernel: x and dy must be 4-D (n, h, w, c), got x "
                         f"{x_shape}, dy {dy_shape}")
    kernel_shape = (kh, kw, x_shape[3], dy_shape[3])
    g = _conv_backward_geometry("conv2d_backward_kernel", x_shape, kernel_shape, dy_shape,
                                strides, padding)
    inputs = {"x": x_shape}
    inputs.update(gradient_inputs("conv2d_backward_kernel", dy_shape, y_shape, activation))
    values = _conv_values(x_shape, kernel_shape, strides, g)
    values["HELPERS"] = dz_accessors(4, activation, alpha)
    return build_program("conv2d_backward_kernel", "conv2d_backward_kernel", inputs,
                         kernel_shape, values, max_texture_size, widths)


def conv2d_backward_bias(
    dy_shape: tuple[int, ...],
    y_shape: tuple[int, ...] | None = None,
    *,
    activation: str = "linear",
    alpha: float | None = None,
    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
    widths: dict[str, int] | None = None,
) -> Program:
    """dbias (cout,) = dz (n, oh, ow, cout) summed over n, oh, ow; dz = dy * f'(y)."""
    if len(tuple(dy_shape)) != 4:
        raise ShapeError(f"conv2d_backward_bias: dy must be 4-D (n, oh, ow, cout), got "
                         f"{tuple(dy_shape)}")
    return bias_backward_program("conv2d_backward_bias", dy_shape, y_shape, activation, alpha,
                                 max_texture_size, widths)
