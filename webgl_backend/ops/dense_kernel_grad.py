"""The Dense kernel gradient of a batch, four inputs per fragment (multiple render targets).

dense_backward_kernel computes one input's four units per fragment from x transposed
(dense_transpose_input: one extra draw), 16 multiply-adds per 5 fetches. Reading x by row
instead, one x texel holds four inputs of a row: a fragment computing four inputs x four
units does 64 multiply-adds per 8 fetches, with no transposed copy. The four targets are
interleaved into the kernel's layout by `dense_gather_rows4` (ops/dense.py), one cheap draw.
"""

from __future__ import annotations

from webgl_backend.codegen import DEFAULT_MAX_TEXTURE_SIZE, Program, build_program, input_width
from webgl_backend.errors import ShapeError
from webgl_backend.ops.dense import _dense_grad_shapes, _rows_and_k, dense_gather_rows4
from webgl_backend.ops.gradients import dz_accessors

# From this many inputs four per fragment (plus the gather) beat the transposed path.
ROWS4_MIN_INPUTS = 8
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
