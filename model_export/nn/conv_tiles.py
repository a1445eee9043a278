"""A convolution as one GEMM over *tiles* of th x tw output pixels, each way.

Plain im2col gives the GEMM one row per output pixel and only `cout` columns: for the MNIST
CNN's conv2 (cout 12) a (19600, 150) x (150, 12) product that BLAS runs at a third of its
speed on large matrices, after an 11.8 MB column copy. Here one GEMM row is a tile of
th x tw output pixels: it reads the tile's input window, (sh*(th-1) + kh) x (sw*(tw-1) + kw)
pixels, and the *tile kernel* (window pixels x cin + 1, th*tw*cout) holds the kernel once
per output pixel of the tile, at that pixel's offset, zeros elsewhere, bias in the last row
(a ones column in the windows). Neighbouring windows overlap less than neighbouring pixels'
do, so the copy shrinks (conv2 with 1x2 tiles: 8.3 MB), and the GEMM is wider (24
columns), at the price of the multiply-adds on the zeros. A tile of one whole output row is
the banded (Toeplitz) matrix of a row convolution.

Backward:
- kernel gradient: dy in tile layout (rows = tiles) times the windows gives the tile
  kernel's gradient; each output pixel's block of it, summed over the tile, is dkernel,
  its last row dbias;
- input gradient: a transposed convolution on blocks of one tile step of the input, each
  gathering the dy tiles whose windows reach it, in one GEMM (`tiled_input_gradient`).

`choose_tile` picks th, tw among the divisors of the output size (no tile hangs over the
edge), by a cost model of this machine's copies and GEMMs.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from model_export.nn.geometry import Geometry2D
from model_export.nn.workspace import scratch, zero_bordered

# Cost model of `choose_tile`, fitted to OpenBLAS sgemm on one core here (SkylakeX
# kernels): a GEMM with N output columns runs at PEAK * N / (N + HALF_SPEED_COLUMNS);
# a float the windows copy costs COPY_COST multiply-adds at PEAK. Tiles more than one row
# high put the output and dy through a layout copy each (`from_tile_layout`,
# `to_tile_layout`).
HALF_SPEED_COLUMNS = 12.0
COPY_COST = 24.0
LAYOUT_COPIES = 2
MAX_TILE_COLUMNS = 384  # wider tiles gain no GEMM speed and the zeros keep growing


class TilePlan(NamedTuple):
    """How an (oh, ow) output is cut into tiles, and the input window of one tile."""

    th: int
    tw: int
    rows: int  # tiles down: oh // th
    cols: int  # tiles across: ow // tw
    window_h: int  # sh*(th-1) + kh
    window_w: int
    step_h: int  # the input rows between tiles: sh*th
    step_w: int


class Tiles(NamedTuple):
    """The forward's cache for backward: windows (tiles, K + 1; ones last), tile kernel, plan."""

    matrix: np.ndarray
    weights: np.ndarray
    plan: TilePlan


def _divisors(size: int) -> list[int]:
    return [d for d in range(1, size + 1) if size % d == 0]


def tile_plan(kernel_hw: tuple[int, int], strides: tuple[int, int], g: Geometry2D,
              tile: tuple[int, int]) -> TilePlan:
    (kh, kw), (sh, sw), (th, tw) = kernel_hw, strides, tile
    return TilePlan(th, tw, g.oh // th, g.ow // tw, sh * (th - 1) + kh, sw * (tw - 1) + kw,
                    sh * th, sw * tw)


def tile_cost(kernel_shape: tuple, strides: tuple[int, int], g: Geometry2D,
              tile: tuple[int, int]) -> float:
    """Estimated forward cost (in multiply-adds at full GEMM speed) of one image."""
    plan = tile_plan(kernel_shape[:2], strides, g, tile)
    cin, cout = kernel_shape[2], kernel_shape[3]
    tiles = plan.rows * plan.cols
    depth = plan.window_h * plan.window_w * cin + 1
    width = plan.th * plan.tw * cout
    gemm = tiles * depth * (width + HALF_SPEED_COLUMNS)  # multiply-adds / relative speed
    layout = LAYOUT_COPIES * g.oh * g.ow * cout if plan.th > 1 else 0
    return gemm + COPY_COST * (tiles * depth + layout)


@lru_cache(maxsize=256)  # asked by every conv forward, with few distinct shapes
def choose_tile(kernel_shape: tuple, strides: tuple[int, int], g: Geometry2D) -> tuple[int, int]:
    """The (th, tw) of least `tile_cost`; th divides oh, tw divides ow. Ties: the smaller tile."""
    cout = kernel_shape[3]
    candidates = [(th, tw) for th in _divisors(g.oh) for tw in _divisors(g.ow)
                  if th * tw * cout <= MAX_TILE_COLUMNS or th * tw == 1]
    return min(candidates, key=lambda t: (tile_cost(kernel_shape, strides, g, t), t[0] * t[1]))


@lru_cache(maxsize=256)  # kept: building them cost as much as the gather itself
def _tap_index(plan: TilePlan, kh: int, kw: int, strides: tuple[int, int]) -> tuple:
    """Index arrays (u, v, r, c), broadcast to (th, tw, kh, kw): tap (i, j) of the tile's
    output pixel (u, v) reads window pixel (r, c) = (sh*u + i, sw*v + j)."""
    sh, sw = strides
    u = np.arange(plan.th)[:, None, None, None]
    v = np.arange(plan.tw)[None, :, None, None]
    r = sh * u + np.arange(kh)[None, None, :, None]
    c = sw * v + np.arange(kw)[None, None, None, :]
    for index in (u, v, r, c):
        index.flags.writeable = False
    return u, v, r, c


def _taps(matrix: np.ndarray, plan: TilePlan, cin: int, cout: int) -> np.ndarray:
    """The tile kernel without its bias row as a (th, tw, window_h, window_w, cin, cout) view."""
    return matrix[:-1].reshape(plan.window_h, plan.window_w, cin, plan.th, plan.tw,
                               cout).transpose(3, 4, 0, 1, 2, 5)


def tile_kernel(kernel: np.ndarray, bias: np.ndarray | None, plan: TilePlan,
                strides: tuple[int, int]) -> np.ndarray:
    """The (window_h*window_w*cin + 1, th*tw*cout) GEMM operand, bias in the last row."""
    kh, kw, cin, cout = kernel.shape
    weights = np.zeros((plan.window_h * plan.window_w * cin + 1, plan.th * plan.tw * cout),
                       kernel.dtype)
    _taps(weights, plan, cin, cout)[_tap_index(plan, kh, kw, strides)] = kernel
    if bias is not None:
        weights[-1] = np.tile(bias.astype(kernel.dtype, copy=False), plan.th * plan.tw)
    return weights


def tiled_forward(padded: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None,
                  strides: tuple[int, int], plan: TilePlan,
                  reuse: Tiles | None = None) -> tuple[np.ndarray, Tiles]:
    """z (n, oh, ow, cout) of the padded input (n, Hp, Wp, cin), and the cache for backward.

    `reuse`: the cache of this layer's previous step, whose window matrix is overwritten
    (nothing reads it after backward; a fresh one is megabytes to allocate and first touch).
    """
    n, cin = padded.shape[0], padded.shape[3]
    cout = kernel.shape[3]
    depth = plan.window_h * plan.window_w * cin
    shape = (n * plan.rows * plan.cols, depth + 1)
    if reuse is not None and reuse.matrix.shape == shape and reuse.matrix.dtype == padded.dtype:
        matrix = reuse.matrix
    else:
        matrix = np.empty(shape, padded.dtype)
    sn, s_row, s_col, s_chan = padded.strides
    windows = as_strided(
        padded, shape=(n, plan.rows, plan.cols, plan.window_h, plan.window_w, cin),
        strides=(sn, plan.step_h * s_row, plan.step_w * s_col, s_row, s_col, s_chan),
        writeable=False)
    # (window_w, cin) is contiguous in both: numpy copies runs of window_w*cin floats.
    np.copyto(matrix[:, :-1].reshape(windows.shape), windows)
    matrix[:, -1] = 1
    weights = tile_kernel(kernel, bias, plan, strides)
    tiles = matrix @ weights
    return from_tile_layout(tiles, plan, n, cout), Tiles(matrix, weights, plan)


def from_tile_layout(tiles: np.ndarray, plan: TilePlan, n: int, channels: int) -> np.ndarray:
    """(n*rows*cols, th*tw*c) -> (n, oh, ow, c); no copy where th == 1 (already in order)."""
    oh, ow = plan.rows * plan.th, plan.cols * plan.tw
    if plan.th == 1:
        return tiles.reshape(n, oh, ow, channels)
    image = np.empty((n, oh, ow, channels), tiles.dtype)
    image.reshape(n, plan.rows, plan.th, plan.cols, plan.tw, channels)[...] = tiles.reshape(
        n, plan.rows, plan.cols, plan.th, plan.tw, channels).transpose(0, 1, 3, 2, 4, 5)
    return image


def to_tile_layout(image: np.ndarray, plan: TilePlan) -> np.ndarray:
    """(n, oh, ow, c) -> (n*rows*cols, th*tw*c): a view where th == 1, else a kept copy."""
    n, oh, ow, channels = image.shape
    width = plan.th * plan.tw * channels
    if plan.th == 1:
        return np.ascontiguousarray(image).reshape(n * oh * plan.cols, width)
    tiles = scratch("conv tiles dy", (n, plan.rows, plan.cols, plan.th, plan.tw, channels),
                    image.dtype)
    tiles.transpose(0, 1, 3, 2, 4, 5)[...] = image.reshape(n, plan.rows, plan.th, plan.cols,
                                                           plan.tw, channels)
    return tiles.reshape(n * plan.rows * plan.cols, width)


def tiled_kernel_gradient(cache: Tiles, dy_tiles: np.ndarray, kernel_shape: tuple,
                          strides: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(dkernel like kernel_shape, dbias (cout,)) from the windows and dy in tile layout."""
    kh, kw, cin, cout = kernel_shape
    plan = cache.plan
    # dy^T @ windows, then transposed: the same dot products in the orientation BLAS
    # runs faster for this tall, skinny product.
    grad = (dy_tiles.T @ cache.matrix).T
    dkernel = _taps(grad, plan, cin, cout)[_tap_index(plan, kh, kw, strides)].sum(axis=(0, 1))
    dbias = grad[-1].reshape(plan.th * plan.tw, cout).sum(axis=0)
    return dkernel, dbias


def _part_kernels(weights: np.ndarray, plan: TilePlan, cin: int) -> np.ndarray:
    """The tile kernel cut into window parts of one tile step each, as GEMM operands.

    (parts_h, parts_w, th*tw*cout, step_h*step_w*cin): part (a, b) holds window rows
    a*step_h.. and columns b*step_w.. (zero past the window's edge), transposed.
    """
    wh, ww, sh, sw = plan.window_h, plan.window_w, plan.step_h, plan.step_w
    parts_h, parts_w = -(-wh // sh), -(-ww // sw)
    width = weights.shape[1]
    parts = np.zeros((parts_h, sh, parts_w, sw, cin, width), weights.dtype)
    parts.reshape(parts_h * sh, parts_w * sw, cin, width)[:wh, :ww] = weights[:-1].reshape(
        wh, ww, cin, width)
    return np.ascontiguousarray(parts.transpose(0, 2, 5, 1, 3, 4)).reshape(
        parts_h, parts_w, width, sh * sw * cin)


def tiled_input_gradient(cache: Tiles, dy_tiles: np.ndarray, x_shape: tuple,
                         g: Geometry2D) -> np.ndarray:
    """dx (n, h, w, cin) from dy in tile layout, as a transposed convolution in one GEMM.

    Cut the padded input into blocks of one tile step (step_h x step_w pixels) and each
    tile's window into parts of that size: part (a, b) of tile (P, Q) lands on block
    (P + a, Q + b). So block (I, J) gathers tiles (I - a, J - b) for every part: one window
    copy of the zero-bordered dy tiles, then one GEMM with the part kernels yields every
    block, and one copy puts the blocks in image order. No scatter: summing the windows
    onto the input directly (col2im) moved runs of a window row's few pixels and was 1.2x
    slower for the CNN's conv2; with 1 x 1 tiles this is a transposed convolution on the
    space-to-depth grid. dx is a view into the padded image of the blocks.
    """
    n, h, w, cin = x_shape
    plan = cache.plan
    rows, cols, sh, sw = plan.rows, plan.cols, plan.step_h, plan.step_w
    parts = _part_kernels(cache.weights, plan, cin)
    parts_h, parts_w, width, block = parts.shape
    grid_h, grid_w = rows + parts_h - 1, cols + parts_w - 1
    interior = (slice(None), slice(parts_h - 1, parts_h - 1 + rows),
                slice(parts_w - 1, parts_w - 1 + cols))
    bordered = zero_bordered("conv tiles bordered dy",
                             (n, rows + 2 * (parts_h - 1), cols + 2 * (parts_w - 1), width),
                             dy_tiles.dtype, interior)
    bordered[interior] = dy_tiles.reshape(n, rows, cols, width)
    sn, s_row, s_col, s_chan = bordered.strides
    gathered = scratch("conv tiles dy windows", (n, grid_h, grid_w, parts_h, parts_w, width),
                       dy_tiles.dtype)
    np.copyto(gathered, as_strided(bordered, shape=gathered.shape,
                                   strides=(sn, s_row, s_col, s_row, s_col, s_chan),
                                   writeable=False))
    # Window position (i, j) of block (I, J) holds tile (I - a, J - b) for a = parts_h - 1 - i.
    kernels = np.ascontiguousarray(parts[::-1, ::-1]).reshape(parts_h * parts_w * width, block)
    blocks = gathered.reshape(n * grid_h * grid_w, parts_h * parts_w * width) @ kernels
    padded = np.empty((n, grid_h * sh, grid_w * sw, cin), dy_tiles.dtype)
    padded.reshape(n, grid_h, sh, grid_w, sw, cin)[...] = blocks.reshape(
        n, grid_h, grid_w, sh, sw, cin).transpose(0, 1, 3, 2, 4, 5)
    top, left = g.pad_top, g.pad_left
    covered_h, covered_w = min(h, grid_h * sh - top), min(w, grid_w * sw - left)
    if covered_h == h and covered_w == w:
        return padded[:, top:top + h, left:left + w]
    # `valid` with rows/columns past the last window: they get no gradient.
    dx = np.zeros(x_shape, dy_tiles.dtype)
    dx[:, :covered_h, :covered_w] = padded[:, top:top + covered_h, left:left + covered_w]
    return dx
