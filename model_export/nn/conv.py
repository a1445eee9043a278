"""conv2d: 2-D cross-correlation over NHWC input with a (kh, kw, cin, cout) kernel.

Every pass is one GEMM over tiles of output pixels (`conv_tiles`): forward, the windows of
the padded input (one strided-window copy) times the tile kernel; backward, dy in tile
layout times the windows (dkernel, dbias) and, for dx, the gathered dy tiles times the
tile kernel's parts (a transposed convolution, no scatter). Never a loop over images or
pixels; `choose_tile` picks the tile per layer shape.
"""

from __future__ import annotations

import numpy as np

from model_export.nn.conv_tiles import (
    Tiles,
    choose_tile,
    tile_plan,
    tiled_forward,
    tiled_input_gradient,
    tiled_kernel_gradient,
    to_tile_layout,
)
from model_export.nn.geometry import Geometry2D, window_geometry
from model_export.nn.workspace import zero_bordered


class ConvShapeError(ValueError):
    """Input and kernel shapes that conv2d cannot combine."""


def _pair(value, name: str) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    pair = tuple(int(v) for v in value)
    if len(pair) != 2:
        raise ConvShapeError(f"conv2d: {name} must be an int or a pair, got {value!r}")
    return pair


def conv2d_geometry(x_shape: tuple, kernel_shape: tuple, strides, padding: str) -> Geometry2D:
    """Check x (n, h, w, cin) against kernel (kh, kw, cin, cout) and return the geometry."""
    if len(x_shape) != 4:
        raise ConvShapeError(f"conv2d: x must be 4-D (n, h, w, cin), got shape {tuple(x_shape)}")
    if len(kernel_shape) != 4:
        raise ConvShapeError(
            f"conv2d: kernel must be 4-D (kh, kw, cin, cout), got shape {tuple(kernel_shape)}"
        )
    if x_shape[3] != kernel_shape[2]:
        raise ConvShapeError(
            f"conv2d: input has {x_shape[3]} channels but kernel expects cin={kernel_shape[2]} "
            f"(x {tuple(x_shape)}, kernel {tuple(kernel_shape)})"
        )
    return window_geometry(x_shape[1:3], kernel_shape[:2], _pair(strides, "strides"), padding)


def _pad(x: np.ndarray, g: Geometry2D) -> np.ndarray:
    """Zero-pad x (n, h, w, c) by the geometry's pads (no copy when there are none).

    The padded array is a kept workspace: callers copy out of it, never keep it.
    """
    if not g.is_padded:
        return x
    n, h, w, c = x.shape
    interior = (slice(None), slice(g.pad_top, g.pad_top + h), slice(g.pad_left, g.pad_left + w))
    xp = zero_bordered("conv2d padded input",
                       (n, h + g.pad_top + g.pad_bottom, w + g.pad_left + g.pad_right, c),
                       x.dtype, interior)
    xp[interior] = x
    return xp


def conv2d_forward_cols(x, kernel, bias=None, strides=(1, 1), padding="valid",
                        reuse: Tiles | None = None) -> tuple[np.ndarray, Tiles]:
    """Forward pass that also returns what backward reads: y (n, oh, ow, cout) and the `Tiles`.

    `reuse`: the `Tiles` of the previous call for this layer; its window matrix is overwritten.
    """
    g = conv2d_geometry(x.shape, kernel.shape, strides, padding)
    strides = _pair(strides, "strides")
    plan = tile_plan(kernel.shape[:2], strides, g, choose_tile(kernel.shape, strides, g))
    return tiled_forward(_pad(x, g), kernel, bias, strides, plan, reuse)


def conv2d_forward(
    x: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray | None = None,
    strides=(1, 1),
    padding: str = "valid",
) -> np.ndarray:
    """y (n, oh, ow, cout) = conv of x (n, h, w, cin) with kernel (kh, kw, cin, cout), + bias.

    bias is (cout,) or None; oh, ow follow `geometry.window_geometry`.
    """
    return conv2d_forward_cols(x, kernel, bias, strides, padding)[0]


def conv2d_backward_cols(dy, cache: Tiles, x_shape, kernel, strides=(1, 1), padding="valid",
                         need_dx: bool = True):
    """Backward from the forward's `Tiles`. Returns (dx or None, dkernel, dbias)."""
    g = conv2d_geometry(x_shape, kernel.shape, strides, padding)
    dy_tiles = to_tile_layout(dy.reshape(x_shape[0], g.oh, g.ow, kernel.shape[3]), cache.plan)
    dx = tiled_input_gradient(cache, dy_tiles, x_shape, g) if need_dx else None
    dkernel, dbias = tiled_kernel_gradient(cache, dy_tiles, kernel.shape, _pair(strides, "strides"))
    return dx, dkernel, dbias


def conv2d_backward(
    dy: np.ndarray,
    x: np.ndarray,
    kernel: np.ndarray,
    strides=(1, 1),
    padding: str = "valid",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of conv2d: dy (n, oh, ow, cout) -> (dx, dkernel, dbias).

    dx is shaped like x, dkernel like kernel, dbias (cout,).
    """
    g = conv2d_geometry(x.shape, kernel.shape, strides, padding)
    if dy.shape != (x.shape[0], g.oh, g.ow, kernel.shape[3]):
        raise ConvShapeError(
            f"conv2d_backward: dy has shape {dy.shape}, expected "
            f"{(x.shape[0], g.oh, g.ow, kernel.shape[3])} for x {x.shape}, kernel {kernel.shape}"
        )
    cache = conv2d_forward_cols(x, kernel, None, strides, padding)[1]
    return conv2d_backward_cols(dy, cache, x.shape, kernel, strides, padding)
