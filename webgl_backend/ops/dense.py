"""dense: y = activation(x @ kernel + bias), one draw, activation (or softmax) fused.

x is (..., k) and is read flat, so a Dense after Flatten or on the last axis of an NHWC
tensor needs no copy; kernel is Keras's (k, units), bias (units,).
"""

from __future__ import annotations

from webgl_backend.codegen import (
    DEFAULT_MAX_TEXTURE_SIZE,
    Program,
    bias_init,
    build_program,
    fill_template,
    input_width,
    layer_inputs,
    shape_size,
    tail_terms,
)
from webgl_backend.errors import ShapeError
from webgl_backend.ops.activations import activation_snippet
from webgl_backend.ops.gradients import dz_accessors, gradient_inputs, unpacked_dot_tail
from webgl_backend.ops.reshape import is_view
from webgl_backend.ops.softmax import softmax_values

# A fused softmax recomputes the row's logits in every fragment: fine for a few classes.
MAX_FUSED_SOFTMAX_UNITS = 64


def _advance(x_width: int, k4: int) -> str:
    """GLSL stepping x's texel walk to the next texel: no wrap test when rows never wrap."""
    if x_width % k4 == 0:
        # Each matrix row starts a texture row (or several fit in one): never wraps mid-row.
        return "    texel.x += 1;"
    return (f"    texel.x += 1;\n    if (texel.x == {x_width}) {{\n      texel.x = 0;\n"
            f"      texel.y += 1;\n    }}")


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
    inputs = layer_inputs("dense", x_shape, kernel_shape, bias_shape)
    x_width = input_width("x", x_shape, widths, max_texture_size)
    full, rest = divmod(k, 4)
    k_tail = ""
    if rest:
        # The last texel of x's row holds k % 4 real values: use only those lanes.
        terms = tail_terms(k, "kernel_at({i}, u4)")
        k_tail = f"  {{\n    vec4 xs = x_fetch(texel);\n    acc += {terms};\n  }}"
    values = {
        "ROWS": shape_size(x_shape) // k, "K": k, "K4": -(-k // 4), "K_FULL4": full,
        "K_TAIL": k_tail, "UNITS": units, "U4": -(-units // 4),
        "X_WIDTH": x_width, "ADVANCE": _advance(x_width, -(-k // 4)),
        "BIAS_INIT": bias_init(inputs, "u4"),
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


# -- four rows per fragment (multiple render targets) -----------------------------------
# One row per fragment fetches a kernel texel for every 4 multiply-adds; the kernel is
# the bulk of the reads. Four rows per fragment share each kernel texel, writing four
# targets that one cheap gather draw interleaves into the usual (rows, units) layout.

# Below this many rows the extra draw and textures cost more than the fetches saved.
ROWS4_MIN_ROWS = 8


def _walk_advance(x_width: int, k4: int, walkers: tuple[str, ...]) -> str:
    """GLSL stepping every texel walker of x to its next texel (wrapping if rows straddle)."""
    if x_width % k4 == 0:
        return "\n".join(f"    {w}.x += 1;" for w in walkers)
    return "\n".join(f"    {w}.x += 1;\n    if ({w}.x == {x_width}) {{ {w}.x = 0; {w}.y += 1; }}"
                     for w in walkers)


def dense_forward_rows4(
    x_shape: tuple[int, ...],
    kernel_shape: tuple[int, ...],
    bias_shape: tuple[int, ...] | None = None,
    *,
    activation: str = "linear",
    alpha: float | None = None,
    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
    widths: dict[str, int] | None = None,
) -> Program:
    """Program writing 4 targets of shape (ceil(rows / 4), units): target j holds rows
    4g + j of y = activation(x (..., k) @ kernel (k, units) + bias). `dense_gather_rows4`
    turns them into y; together they equal `dense_forward` (not softmax)."""
    x_shape = tuple(int(d) for d in x_shape)
    kernel_shape = tuple(int(d) for d in kernel_shape)
    dense_output_shape(x_shape, kernel_shape)
    k, units = kernel_shape
    rows = shape_size(x_shape) // k
    inputs = layer_inputs("dense", (rows, k), kernel_shape, bias_shape)
    x_width = input_width("x", (rows, k), widths, max_texture_size)
    full, rest = divmod(k, 4)
    k4 = -(-k // 4)
    walkers = ("t0", "t1", "t2", "t3")
    k_tail = ""
    if rest:
        terms = tail_terms(k, "kernel_at({i}, u4)")
        lines = [f"    xs = x_fetch({walker});\n    acc{j} += {terms};"
                 for j, walker in enumerate(walkers)]
        k_tail = "  {\n    vec4 xs;\n" + "\n".join(lines) + "\n  }"
    values = {
        "ROWS": rows, "K": k, "K4": k4, "K_FULL4": full, "K_TAIL": k_tail, "UNITS": units,
        "GROUPS": -(-rows // 4), "X_WIDTH": x_width,
        "ADVANCE": _walk_advance(x_width, k4, walkers),
        "BIAS_INIT": bias_init(inputs, "u4"),
        "ACTIVATION": activation_snippet(activation, alpha),
    }
    return build_program("dense_forward_rows4", "dense_forward_rows4", inputs,
                         (-(-rows // 4), units), values, max_texture_size, widths, outputs=4)


def dense_gather_rows4(y_shape: tuple[int, ...], *,
                       max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE) -> Program:
    """y (..., units) from the 4 targets (part0..part3, each (ceil(rows / 4), units)) of
    `dense_forward_rows4`: row r is row r // 4 of part r % 4."""
    y_shape = tuple(int(d) for d in y_shape)
    if len(y_shape) < 2 or any(d < 1 for d in y_shape):
        raise ShapeError(f"dense_gather_rows4: y must be (n, ..., units) with positive sizes, "
                         f"got {y_shape}")
    units = y_shape[-1]
    rows = shape_size(y_shape) // units
    part = (-(-rows // 4), units)
    inputs = {f"part{j}": part for j in range(4)}
    return build_program("dense_gather_rows4", "dense_gather_rows4", inputs, y_shape,
                         {"ROWS": rows, "UNITS": units, "U4": -(-units // 4)},
                         max_texture_size)


def dense_forward_programs(
    x_shape: tuple[int, ...],
    kernel_shape: tuple[int, ...],
    bias_shape: tuple[int, ...] | None = None,
    *,
    activation: str = "linear",
    alpha: float | None = None,
    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
    widths: dict[str, int] | None = None,
) -> list[Program]:
    """The draws of one Dense: `[dense_forward]`, or for ROWS4_MIN_ROWS rows and more
    (and no fused softmax) `[dense_forward_rows4, dense_gather_rows4]`."""
    kwargs = {"activation": activation, "alpha": alpha, "max_texture_size": max_texture_size,
              "widths": widths}
    x_shape = tuple(int(d) for d in x_shape)
    y_shape = dense_output_shape(x_shape, tuple(int(d) for d in kernel_shape))
    rows = shape_size(y_shape) // y_shape[-1]
    if activation == "softmax" or rows < ROWS4_MIN_ROWS:
        return [dense_forward(x_shape, kernel_shape, bias_shape, **kwargs)]
    return [dense_forward_rows4(x_shape, kernel_shape, bias_shape, **kwargs),
            dense_gather_rows4(y_shape, max_texture_size=max_texture_size)]


# -- backward (fine-tuning) ------------------------------------------------------------
# dz = dy * f'(y) for a fused activation is read through `dz_at` (ops/gradients.py), so
# the activation gradient costs no draw. dy is addressed as a (rows, units) matrix.


def _dense_grad_shapes(op: str, dy_shape, units: int) -> tuple[tuple[int, ...], int]:
    """dy as (rows, units); checks its last axis."""
    dy_shape = tuple(int(d) for d in dy_shape)
    if len(dy_shape) < 2 or any(d < 1 for d in dy_shape):
        raise ShapeError(f"{op}: dy must be (n, ..., units) with positive sizes, got {dy_shape}")
    if dy_shape[-1] != units:
        raise ShapeError(f"{op}: dy has {dy_shape[-1]} units but the layer has {units} "
                         f"(dy {dy_shape})")
    rows = shape_size(dy_shape) // units
    return (rows, units), rows


def _dense_y_shape(op: str, y_shape, dy_shape, dy2: tuple[int, ...]):
    """y's shape as the (rows, units) matrix dy is read as; y must have dy's shape."""
    if not y_shape:
        return None
    if tuple(int(d) for d in y_shape) != tuple(int(d) for d in dy_shape):
        raise ShapeError(f"{op}: y {tuple(y_shape)} and dy {tuple(dy_shape)} must have the "
                         "same shape")
    return dy2


def dense_backward_input(
    dy_shape: tuple[int, ...],
    kernel_shape: tuple[int, ...],
    y_shape: tuple[int, ...] | None = None,
    *,
    x_shape: tuple[int, ...] | None = None,
    activation: str = "linear",
    alpha: float | None = None,
    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
    widths: dict[str, int] | None = None,
) -> Program:
    """dx (rows, k) = dz (rows, units) @ kernel^T (units, k), dz = dy * f'(y).

    `x_shape` (default (rows, k)) shapes dx like the layer's input, e.g. an NHWC tensor
    the Dense read flat; it must keep the texel order of (rows, k).
    """
    kernel_shape = tuple(int(d) for d in kernel_shape)
    if len(kernel_shape) != 2 or any(d < 1 for d in kernel_shape):
        raise ShapeError(f"dense_backward_input: kernel must be 2-D (k, units), got "
                         f"{kernel_shape}")
    k, units = kernel_shape
    dy2, rows = _dense_grad_shapes("dense_backward_input", dy_shape, units)
    out_shape = (rows, k) if x_shape is None else tuple(int(d) for d in x_shape)
    if shape_size(out_shape) != rows * k or not is_view((rows, k), out_shape):
        raise ShapeError(f"dense_backward_input: x_shape {out_shape} does not hold {rows} rows "
                         f"of k={k} in the same texel order")
    inputs = gradient_inputs("dense_backward_input", dy2,
                             _dense_y_shape("dense_backward_input", y_shape, dy_shape, dy2),
                             activation)
    inputs["kernel"] = kernel_shape
    full = units // 4
    values = {
        "ROWS": rows, "K": k, "K4": -(-k // 4), "UNITS": units, "U_FULL4": full,
        "U_TAIL": unpacked_dot_tail(units, full, "dz_at(row, {t})", "kernel_at({i}, {t})",
                                    indent="  "),
        "HELPERS": dz_accessors(2, activation, alpha),
    }
    return build_program("dense_backward_input", "dense_backward_input", inputs, out_shape,
                         values, max_texture_size, widths)


def _rows_and_k(op: str, x_shape) -> tuple[tuple[int, ...], int, int]:
    x_shape = tuple(int(d) for d in x_shape)
    if len(x_shape) < 2 or any(d < 1 for d in x_shape):
        raise ShapeError(f"{op}: x must be (n, ..., k) with positive sizes, got {x_shape}")
    k = x_shape[-1]
    return x_shape, shape_size(x_shape) // k, k


def dense_transpose_input(
    x_shape: tuple[int, ...],
    *,
    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
    widths: dict[str, int] | None = None,
) -> Program:
    """xt (k, rows) = x (rows, k)^T, rows packed four per texel: the operand of
    `dense_backward_kernel`. x (..., k) is read by flat texel (it may be a view)."""
    x_shape, rows, k = _rows_and_k("dense_transpose_input", x_shape)
    k4 = -(-k // 4)
    x_width = input_width("x", (rows, k), widths, max_texture_size)
    # x in its own (rows, k) layout: addressed without division.
    x_fetch = "x_at(row + j, k4)" if x_width == k4 else f"x_texel((row + j) * {k4} + k4)"
    return build_program("dense_transpose_input", "dense_transpose_input", {"x": (rows, k)},
                         (k, rows), {"ROWS": rows, "K": k, "X_FETCH": x_fetch},
                         max_texture_size, widths)


def dense_backward_kernel(
    x_shape: tuple[int, ...],
    dy_shape: tuple[int, ...],
    y_shape: tuple[int, ...] | None = None,
    *,
    activation: str = "linear",
    alpha: float | None = None,
    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
    widths: dict[str, int] | None = None,
) -> Program:
    """dkernel (k, units) = x^T (k, rows) @ dz (rows, units), dz = dy * f'(y).

    `x_shape` is the layer input's (..., k); the program reads it transposed, as input
    `xt` (k, rows) written by `dense_transpose_input`: four rows of one input per fetch,
    so a fragment does 16 multiply-adds per 5 fetches (reading x by row took 8 fetches
    and a dynamic lane pick for the same work; this is the MLP's costliest pass).
    """
    x_shape, rows_x, k = _rows_and_k("dense_backward_kernel", x_shape)
    dy_shape = tuple(int(d) for d in dy_shape)
    units = dy_shape[-1] if dy_shape else 0
    dy2, rows = _dense_grad_shapes("dense_backward_kernel", dy_shape, units)
    if rows_x != rows:
        raise ShapeError(f"dense_backward_kernel: x {x_shape} has {rows_x} rows but dy "
                         f"{dy_shape} has {rows}")
    inputs = {"xt": (k, rows)}
    inputs.update(gradient_inputs(
        "dense_backward_kernel", dy2,
        _dense_y_shape("dense_backward_kernel", y_shape, dy_shape, dy2), activation))
    full, rest = divmod(rows, 4)
    rows_tail = ""
    if rest:
        # The last texel of xt's row holds rows % 4 real rows: only those lanes.
        terms = tail_terms(rows, "dz_at({i}, o.y)")
        rows_tail = f"  {{\n    vec4 xs = xt_at(o.x, {full});\n    acc += {terms};\n  }}"
    values = {"ROWS": rows, "K": k, "UNITS": units, "ROWS_FULL4": full, "ROWS_TAIL": rows_tail,
              "HELPERS": dz_accessors(2, activation, alpha)}
    widths = {name: width for name, width in (widths or {}).items() if name in inputs}
    return build_program("dense_backward_kernel", "dense_backward_kernel", inputs, (k, units),
                         values, max_texture_size, widths)


def bias_backward_program(op: str, dy_shape: tuple[int, ...], y_shape, activation: str,
                          alpha: float | None, max_texture_size: int,
                          widths: dict[str, int] | None) -> Program:
    """dbias (units,) = dz summed over every leading axis of dy (dense and conv2d)."""

    dy_shape = tuple(int(d) for d in dy_shape)
    dy2, rows = _dense_grad_shapes(op, dy_shape, dy_shape[-1] if dy_shape else 0)
    units = dy2[1]
    widths = dict(widths or {})
    width = input_width("dy", dy_shape, widths, max_texture_size)
    widths["dy"] = width
    inputs = gradient_inputs(op, dy2, _dense_y_shape(op, y_shape, dy_shape, dy2), activation)
    if "y" in inputs:
        y_width = input_width("y", tuple(y_shape), widths, max_texture_size)
        if y_width != width:
            raise ShapeError(f"{op}: y and dy must share a texture layout (widths {y_width} "
                             f"and {width})")
        widths["y"] = y_width
    u4 = -(-units // 4)
    if u4 > width:
        raise ShapeError(f"{op}: dy texture width {width} is narrower than a row ({u4} texels)")
    values = {"OP": op, "ROWS": rows, "UNITS": units, "U4": u4,
              "HELPERS": dz_accessors(2, activation, alpha)}
    return build_program(op, "bias_backward", inputs, (units,), values, max_texture_size, widths)


def dense_backward_bias(
    dy_shape: tuple[int, ...],
    y_shape: tuple[int, ...] | None = None,
    *,
    activation: str = "linear",
    alpha: float | None = None,
    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
    widths: dict[str, int] | None = None,
) -> Program:
    """dbias (units,) = sum over rows of dz (rows, units), dz = dy * f'(y)."""
    return bias_backward_program("dense_backward_bias", dy_shape, y_shape, activation, alpha,
                                 max_texture_size, widths)
