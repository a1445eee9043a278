"""Dense gradients of a batch with four rows (or inputs) per fragment (multiple render
targets), each followed by a cheap gather draw.

Kernel gradient: dense_backward_kernel computes one input's four units per fragment from x transposed
(dense_transpose_input: one extra draw), 16 multiply-adds per 5 fetches. Reading x by row
instead, one x texel holds four inputs of a row: a fragment computing four inputs x four
units does 64 multiply-adds per 8 fetches, with no transposed copy. The four targets are
interleaved into the kernel's layout by `dense_gather_rows4` (ops/dense.py), one cheap draw.

Input gradient: dense_backward_input fetches four kernel texels per dz texel for one row;
four rows per fragment share them (64 multiply-adds per 8 fetches instead of 16 per 5).
`gather_rows4_flat` writes dx in the layout of the layer's input, whatever its shape.
"""

from __future__ import annotations

from webgl_backend.codegen import (
    DEFAULT_MAX_TEXTURE_SIZE,
    Program,
    build_program,
    input_width,
    shape_size,
    tail_mask,
)
from webgl_backend.errors import ShapeError
from webgl_backend.ops.activations import times_activation_gradient
from webgl_backend.ops.dense import _dense_grad_shapes, _rows_and_k, dense_gather_rows4
from webgl_backend.ops.gradients import dz_accessors
from webgl_backend.ops.reshape import is_view

# From this many inputs four per fragment (plus the gather) beat the transposed path; from
# this many rows four rows per fragment (plus the gather) beat one.
ROWS4_MIN_INPUTS = 8
ROWS4_MIN_ROWS = 8
TARGETS = 4


def _advance(x_width: int, k4: int) -> str:
    """GLSL stepping x's texel walker `p` by one row (k4 texels), wrapping texture rows."""
    dx, dy = k4 % x_width, k4 // x_width
    if dx == 0:
        return f"    p.y += {dy};"
    step = f"    p.x += {dx};" + (f" p.y += {dy};" if dy else "")
    return step + f"\n    if (p.x >= {x_width}) {{ p.x -= {x_width}; p.y += 1; }}"


def dense_backward_kernel_rows4(
    x_shape: tuple[int, ...],
    dy_shape: tuple[int, ...],
    *,
    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
    widths: dict[str, int] | None = None,
) -> Program:
    """Four targets of shape (ceil(k / 4), units): target j holds rows 4g + j of dkernel
    (k, units) = x^T (k, rows) @ dy (rows, units); dy is dz (the activation's pass came
    first). x (..., k) is read by flat texel (it may be a view of an NHWC tensor)."""
    x_shape, rows_x, k = _rows_and_k("dense_backward_kernel", x_shape)
    dy_shape = tuple(int(d) for d in dy_shape)
    units = dy_shape[-1] if dy_shape else 0
    dy2, rows = _dense_grad_shapes("dense_backward_kernel", dy_shape, units)
    if rows_x != rows:
        raise ShapeError(f"dense_backward_kernel: x {x_shape} has {rows_x} rows but dy "
                         f"{dy_shape} has {rows}")
    widths = dict(widths or {})
    k4 = -(-k // 4)
    x_width = input_width("x", (rows, k), widths, max_texture_size)
    widths["x"] = x_width
    inputs = {"x": (rows, k), "dy": dy2}
    advance = _advance(x_width, k4)
    full, rest = divmod(rows, 4)
    rows_tail = ""
    if rest:
        fetches = "\n".join(f"    vec4 x{i} = x_fetch(p);\n{advance}" for i in range(rest))
        deltas = ", ".join(f"d{i} = dz_at({4 * full + i}, o.y)" for i in range(rest))
        sums = "\n".join(f"    acc{j} += " + " + ".join(f"x{i}.{'xyzw'[j]} * d{i}"
                                                      for i in range(rest)) + ";"
                         for j in range(TARGETS))
        rows_tail = f"  {{\n{fetches}\n    vec4 {deltas};\n{sums}\n  }}"
    values = {"ROWS": rows, "K": k, "UNITS": units, "ROWS_FULL4": full, "ROWS_TAIL": rows_tail,
              "GROUPS": k4, "ADVANCE": advance, "HELPERS": dz_accessors(2, "linear")}
    widths = {name: width for name, width in widths.items() if name in inputs}
    return build_program("dense_backward_kernel_rows4", "dense_backward_kernel_rows4", inputs,
                         (k4, units), values, max_texture_size, widths, outputs=TARGETS)


def dense_backward_kernel_grouped(
    x_shape: tuple[int, ...],
    dy_shape: tuple[int, ...],
    *,
    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
    widths: dict[str, int] | None = None,
) -> list[Program]:
    """`[dense_backward_kernel_rows4, dense_gather_rows4]`: dkernel from x and dz."""
    x_shape, _, k = _rows_and_k("dense_backward_kernel", x_shape)
    units = tuple(dy_shape)[-1]
    return [dense_backward_kernel_rows4(x_shape, dy_shape, max_texture_size=max_texture_size,
                                        widths=widths),
            dense_gather_rows4((k, units), max_texture_size=max_texture_size)]


def dense_backward_input_rows4(
    dy_shape: tuple[int, ...],
    kernel_shape: tuple[int, ...],
    *,
    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
    widths: dict[str, int] | None = None,
) -> Program:
    """Four targets of shape (ceil(rows / 4), k): target j holds rows 4g + j of dx (rows,
    k) = dy (rows, units) @ kernel^T; dy is dz (the activation's pass came first)."""
    kernel_shape = tuple(int(d) for d in kernel_shape)
    if len(kernel_shape) != 2 or any(d < 1 for d in kernel_shape):
        raise ShapeError(f"dense_backward_input: kernel must be 2-D (k, units), got "
                         f"{kernel_shape}")
    k, units = kernel_shape
    dy2, rows = _dense_grad_shapes("dense_backward_input", dy_shape, units)
    inputs = {"dy": dy2, "kernel": kernel_shape}
    full = units // 4
    u_tail = ""
    if units % 4:
        rows_ = ("k", "k1", "k2", "k3")
        declared = " ".join(f"vec4 q{j} = kernel_at({row}, {full});"
                            for j, row in enumerate(rows_))
        dots = ", ".join(f"dot(q{j}, g)" for j in range(4))
        images = "\n".join(f"    g = dz_at(r{j}, {full}) * {tail_mask(units)};\n"
                           f"    acc{j} += vec4({dots});" for j in range(TARGETS))
        u_tail = f"  {{\n    {declared}\n    vec4 g;\n{images}\n  }}"
    values = {"ROWS": rows, "K": k, "UNITS": units, "U_FULL4": full, "U_TAIL": u_tail,
              "GROUPS": -(-rows // 4), "HELPERS": dz_accessors(2, "linear")}
    widths = {name: width for name, width in (widths or {}).items() if name in inputs}
    return build_program("dense_backward_input_rows4", "dense_backward_input_rows4", inputs,
                         (-(-rows // 4), k), values, max_texture_size, widths, outputs=TARGETS)


def gather_rows4_flat(y_shape: tuple[int, ...], rows: int, *, activation: str = "linear",
                      alpha: float | None = None,
                      max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE) -> Program:
    """y (any shape holding `rows` rows of equal size in its texel order) from the 4
    targets (part0..part3, each (ceil(rows / 4), row size)) of a rows4 program; with an
    `activation`, each value times its gradient at input `y` (the layer below's output)."""
    y_shape = tuple(int(d) for d in y_shape)
    if not y_shape or any(d < 1 for d in y_shape) or shape_size(y_shape) % rows:
        raise ShapeError(f"gather_rows4_flat: y {y_shape} does not hold {rows} equal rows")
    row_size = shape_size(y_shape) // rows
    if not is_view((rows, row_size), y_shape):
        raise ShapeError(f"gather_rows4_flat: y {y_shape} does not keep the texel order of "
                         f"{rows} rows of {row_size}")
    block = -(-row_size // 4)
    part = (-(-rows // 4), row_size)
    inputs = {f"part{j}": part for j in range(TARGETS)}
    values = {"Y_SHAPE": y_shape, "ROWS": rows, "BLOCK": block, "GROUPS": part[0],
              **times_activation_gradient(inputs, y_shape, activation, alpha)}
    return build_program("gather_rows4_flat", "gather_rows4_flat", inputs, y_shape, values,
                         max_texture_size)


def dense_backward_input_grouped(
    dy_shape: tuple[int, ...],
    kernel_shape: tuple[int, ...],
    *,
    x_shape: tuple[int, ...] | None = None,
    activation: str = "linear",
    alpha: float | None = None,
    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
    widths: dict[str, int] | None = None,
) -> list[Program]:
    """`[dense_backward_input_rows4, gather_rows4_flat]`: dx from dz, shaped like the
    layer's input `x_shape` (default (rows, k)); with the `activation` of the layer below,
    its dz (the gather reads that layer's output as `y`)."""
    k = int(kernel_shape[0])
    rows = shape_size(tuple(dy_shape)) // int(tuple(dy_shape)[-1])
    out_shape = (rows, k) if x_shape is None else tuple(int(d) for d in x_shape)
    return [dense_backward_input_rows4(dy_shape, kernel_shape, max_texture_size=max_texture_size,
                                       widths=widths),
            gather_rows4_flat(out_shape, rows, activation=activation, alpha=alpha,
                              max_texture_size=max_texture_size)]
