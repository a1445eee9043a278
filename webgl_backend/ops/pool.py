"""max_pool2d and avg_pool2d over NHWC, TF geometry (see `ops/conv.py`).

Max keeps the first maximum of a window (strict '>'), matching model_export's numpy
argmax rule rather than TF.js's '>='; average divides by the count of valid cells.
"""

from __future__ import annotations

from webgl_backend.codegen import (
    DEFAULT_MAX_TEXTURE_SIZE,
    LANE_MASK,
    Program,
    build_program,
    fill_template,
)
from webgl_backend.errors import ShapeError
from webgl_backend.ops.conv import WindowGeometry, _pair, window_geometry


def _pool_values(op: str, x_shape: tuple[int, ...], pool_size, strides,
                 g: WindowGeometry) -> dict[str, object]:
    """The template values every pooling program shares: shapes, window and geometry."""
    ph, pw = _pair(op, "pool_size", pool_size)
    sh, sw = _pair(op, "strides", strides)
    n, h, w, c = x_shape
    return {"N": n, "H": h, "W": w, "C": c, "PH": ph, "PW": pw, "SH": sh, "SW": sw,
            "OH": g.oh, "OW": g.ow, "PAD_TOP": g.pad_top, "PAD_LEFT": g.pad_left}


def _pool_program(op: str, x_shape, pool_size, strides, padding: str,
                  max_texture_size: int, widths: dict[str, int] | None) -> Program:
    x_shape = tuple(int(d) for d in x_shape)
    strides = pool_size if strides is None else strides
    g = window_geometry(op, x_shape, pool_size, strides, padding)
    values = _pool_values(op, x_shape, pool_size, strides, g)
    return build_program(f"{op}_forward", f"{op}_forward", {"x": x_shape},
                         (x_shape[0], g.oh, g.ow, x_shape[3]), values, max_texture_size, widths)


def max_pool2d_forward(x_shape: tuple[int, ...], pool_size=(2, 2), strides=(2, 2),
                       padding: str = "valid", *,
                       max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                       widths: dict[str, int] | None = None) -> Program:
    """Program for y (n, oh, ow, c) = max over each window of x (n, h, w, c)."""
    return _pool_program("max_pool2d", x_shape, pool_size, strides, padding, max_texture_size,
                         widths)


def avg_pool2d_forward(x_shape: tuple[int, ...], pool_size=(2, 2), strides=(2, 2),
                       padding: str = "valid", *,
                       max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                       widths: dict[str, int] | None = None) -> Program:
    """Program for y (n, oh, ow, c) = mean of the valid cells of each window of x."""
    return _pool_program("avg_pool2d", x_shape, pool_size, strides, padding, max_texture_size,
                         widths)


# -- backward (fine-tuning) ------------------------------------------------------------


def _pool_backward_program(op: str, dy_shape, x_shape, pool_size, strides, padding: str,
                           inputs_of: tuple[str, ...], max_texture_size: int,
                           widths: dict[str, int] | None) -> Program:
    x_shape = tuple(int(d) for d in x_shape)
    dy_shape = tuple(int(d) for d in dy_shape)
    strides = pool_size if strides is None else strides
    g = window_geometry(op, x_shape, pool_size, strides, padding)
    expected = (x_shape[0], g.oh, g.ow, x_shape[3])
    if dy_shape != expected:
        raise ShapeError(f"{op}: dy has shape {dy_shape}, expected {expected} for x {x_shape}, "
                         f"pool_size {pool_size}, strides {strides}, padding {padding!r}")
    values = _pool_values(op, x_shape, pool_size, strides, g)
    values["HELPERS"] = LANE_MASK
    # Both backward templates loop over the windows that hold the output cell.
    values["WINDOWS_OF_CELL"] = fill_template("pool2d_windows_of_cell", values).rstrip("\n")
    shapes = {"dy": dy_shape, "x": x_shape}
    return build_program(op, f"{op}_input", {name: shapes[name] for name in inputs_of},
                         x_shape, values, max_texture_size, widths)


def max_pool2d_backward(dy_shape: tuple[int, ...], x_shape: tuple[int, ...], pool_size=(2, 2),
                        strides=(2, 2), padding: str = "valid", *,
                        max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                        widths: dict[str, int] | None = None) -> Program:
    """dx (n, h, w, c): each window's dy (n, oh, ow, c) routed to its FIRST maximum in x."""
    return _pool_backward_program("max_pool2d_backward", dy_shape, x_shape, pool_size, strides,
                                  padding, ("dy", "x"), max_texture_size, widths)


def avg_pool2d_backward(dy_shape: tuple[int, ...], x_shape: tuple[int, ...], pool_size=(2, 2),
                        strides=(2, 2), padding: str = "valid", *,
                        max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                        widths: dict[str, int] | None = None) -> Program:
    """dx (n, h, w, c): each window's dy shared evenly by its valid cells (x is only a shape:
    the program reads dy alone)."""
    return _pool_backward_program("avg_pool2d_backward", dy_shape, x_shape, pool_size, strides,
                                  padding, ("dy",), max_texture_size, widths)
