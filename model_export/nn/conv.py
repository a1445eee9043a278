"""conv2d: 2-D cross-correlation over NHWC input with a (kh, kw, cin, cout) kernel.

Forward is im2col + one matmul (a one-channel input with a small Wp / kw: one GEMM
over bands of input rows instead, `conv_bands`). The im2col copy is one strided-window
copy (or, for cin == 1, one slice copy per kernel position), never a loop over images or
pixels. Backward:
- dkernel = cols^T @ dy, one matmul on the cached columns;
- dx: a transposed convolution done on the space-to-depth grid of the input, where the
  stride-s convolution is a stride-1 one: one window copy of dy, one GEMM, one copy back
  (see `_input_gradient`). A strided `+=` per kernel position (plain col2im) was the
  training bottleneck.

Column layout: for cin == 1 the columns are stored position-major (K, N) so each
kernel position copies into a contiguous row; otherwise pixel-major (N, K). Either
way `cols` is handed around as an (N, K) matrix (a transposed view for cin == 1),
which BLAS takes without a copy.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from model_export.nn.conv_bands import Bands, band_forward, band_kernel_gradient, bands_apply
from model_export.nn.geometry import Geometry2D, window_geometry
from model_export.nn.workspace import scratch, zero_bordered


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


def im2col(x: np.ndarray, kernel_hw: tuple[int, int], strides, g: Geometry2D,
           ones_column: bool = False) -> np.ndarray:
    """Columns of x (n, h, w, cin) as an (n*oh*ow, kh*kw*cin) matrix, K ordered (kh, kw, cin).

    For cin == 1 the result is a transposed view of a contiguous (K, N) array, and
    `ones_column=True` appends a column of ones (bias folded into the matmul: a
    broadcast `y += bias` over 6 channels cost as much as the matmul itself).
    """
    kh, kw = kernel_hw
    sh, sw = _pair(strides, "strides")
    n, _, _, cin = x.shape
    oh, ow = g.oh, g.ow
    xp = _pad(x, g)
    if cin == 1:
        planes = xp[..., 0]
        rows = kh * kw + int(ones_column)
        buf = np.empty((rows, n, oh, ow), x.dtype)
        for i in range(kh):
            for j in range(kw):
                buf[i * kw + j] = planes[:, i:i + sh * oh:sh, j:j + sw * ow:sw]
        if ones_column:
            buf[-1] = 1
        return buf.reshape(rows, n * oh * ow).T
    # One copy of a strided window view: (kw, cin) is contiguous in both the padded
    # input row and the column, so numpy copies runs of kw*cin floats. A copy per
    # kernel position moves runs of only cin floats and was ~10x slower for cin=6.
    sn, s_row, s_col, s_chan = xp.strides
    windows = as_strided(
        xp,
        shape=(n, oh, ow, kh, kw, cin),
        strides=(sn, sh * s_row, sw * s_col, s_row, s_col, s_chan),
        writeable=False,
    )
    buf = np.ascontiguousarray(windows)
    return buf.reshape(n * oh * ow, kh * kw * cin)


def conv2d_forward_cols(x, kernel, bias=None, strides=(1, 1), padding="valid"):
    """Forward pass that also returns what backward reads for the kernel gradient.

    Returns (y (n, oh, ow, cout), cols): the im2col columns (n*oh*ow, K) with K = kh*kw*cin,
    or K + 1 when the bias was folded in as a ones column (cin == 1); or, for a one-channel
    input where `conv_bands` applies, its `Bands`.
    """
    g = conv2d_geometry(x.shape, kernel.shape, strides, padding)
    if bands_apply(kernel.shape, g, x.shape[2]):
        return band_forward(_pad(x, g)[..., 0], kernel, bias, _pair(strides, "strides"), g)
    kh, kw, cin, cout = kernel.shape
    fold_bias = bias is not None and cin == 1
    cols = im2col(x, (kh, kw), strides, g, ones_column=fold_bias)
    weights = kernel.reshape(kh * kw * cin, cout)
    if fold_bias:
        weights = np.concatenate([weights, bias.reshape(1, cout).astype(weights.dtype)])
    y = cols @ weights
    if bias is not None and not fold_bias:
        y += bias
    return y.reshape(x.shape[0], g.oh, g.ow, cout), cols


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


def _stride1_windows(a: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """Every stride-1 (kh, kw) window of a (n, H, W, c): a read-only (n, H-kh+1, W-kw+1, kh, kw, c) view."""
    n, rows, cols, c = a.shape
    sn, s_row, s_col, s_chan = a.strides
    return as_strided(a, shape=(n, rows - kh + 1, cols - kw + 1, kh, kw, c),
                      strides=(sn, s_row, s_col, s_row, s_col, s_chan), writeable=False)


def _phase_split_transposed_kernel(kernel: np.ndarray, sh: int, sw: int) -> np.ndarray:
    """The kernel of the input gradient on the space-to-depth grid, as a 2-D GEMM operand.

    Zero-padded to (qh*sh, qw*sw), split into stride phases and flipped:
    [(P, Q, o), (a, b, c)] = kernel[sh*(qh-1-P) + a, sw*(qw-1-Q) + b, c, o].
    """
    kh, kw, cin, cout = kernel.shape
    qh, qw = -(-kh // sh), -(-kw // sw)
    padded = np.zeros((qh * sh, qw * sw, cin, cout), kernel.dtype)
    padded[:kh, :kw] = kernel
    phased = padded.reshape(qh, sh, qw, sw, cin, cout)[::-1, :, ::-1]
    return np.ascontiguousarray(phased.transpose(0, 2, 5, 1, 3, 4)).reshape(
        qh * qw * cout, sh * sw * cin)


def _input_gradient(dy2d: np.ndarray, kernel: np.ndarray, x_shape: tuple, strides,
                    g: Geometry2D) -> np.ndarray:
    """dx (n, h, w, cin) from dy as (n*oh*ow, cout): a transposed convolution as one GEMM.

    On the space-to-depth grid of the padded input (cell (I, J) holds rows sh*I..sh*I+sh-1,
    columns sw*J..sw*J+sw-1, all channels) a stride-s convolution is a stride-1 one with a
    (qh, qw) = ceil(k / s) kernel, so its input gradient is a plain "full" correlation of dy:
    one window copy of the zero-bordered dy, one GEMM, one depth-to-space copy. No scatter
    per kernel position (plain col2im was the training bottleneck). dx may be a strided view
    (of the depth-to-space copy): the previous layer's activation gradient reads it once.
    """
    kh, kw, cin, cout = kernel.shape
    sh, sw = _pair(strides, "strides")
    n, h, w, _ = x_shape
    oh, ow = g.oh, g.ow
    qh, qw = -(-kh // sh), -(-kw // sw)
    grid_h, grid_w = oh + qh - 1, ow + qw - 1
    interior = (slice(None), slice(qh - 1, qh - 1 + oh), slice(qw - 1, qw - 1 + ow))
    bordered = zero_bordered("conv2d bordered dy", (n, oh + 2 * (qh - 1), ow + 2 * (qw - 1), cout),
                             dy2d.dtype, interior)
    bordered[interior] = dy2d.reshape(n, oh, ow, cout)
    cols = scratch("conv2d dy windows", (n, grid_h, grid_w, qh, qw, cout), dy2d.dtype)
    np.copyto(cols, _stride1_windows(bordered, qh, qw))
    cells = cols.reshape(n * grid_h * grid_w, qh * qw * cout) @ _phase_split_transposed_kernel(
        kernel, sh, sw)
    # Depth to space: (n, I, J, a, b, c) -> padded-input rows sh*I + a, columns sw*J + b.
    padded = cells.reshape(n, grid_h, grid_w, sh, sw, cin).transpose(0, 1, 3, 2, 4, 5)
    padded = padded.reshape(n, grid_h * sh, grid_w * sw, cin)
    top, left = g.pad_top, g.pad_left
    rows, columns = min(h, grid_h * sh - top), min(w, grid_w * sw - left)
    if rows == h and columns == w:
        return padded[:, top:top + h, left:left + w]  # a view: its consumer copies it anyway
    # `valid` with rows/columns past the last window: they get no gradient.
    dx = np.zeros(x_shape, dy2d.dtype)
    dx[:, :rows, :columns] = padded[:, top:top + rows, left:left + columns]
    return dx


def conv2d_backward_cols(dy, cols, x_shape, kernel, strides=(1, 1), padding="valid",
                         need_dx: bool = True):
    """Backward from the forward's cached columns (or bands). Returns (dx or None, dkernel, dbias)."""
    kh, kw, cin, cout = kernel.shape
    g = conv2d_geometry(x_shape, kernel.shape, strides, padding)
    dy2d = dy.reshape(-1, cout)
    dx = _input_gradient(dy2d, kernel, x_shape, strides, g) if need_dx else None
    if isinstance(cols, Bands):
        dy4d = dy.reshape(x_shape[0], g.oh, g.ow, cout)
        return (dx, *band_kernel_gradient(cols, dy4d, kernel.shape, _pair(strides, "strides")))
    k = kh * kw * cin
    # dy^T @ cols, then transposed: the same dot products, but BLAS runs this orientation of
    # the tall-skinny product faster (1.5x for conv2 of the CNN).
    dweights = (dy2d.T @ cols).T
    dkernel = dweights[:k].reshape(kh, kw, cin, cout)
    if cols.shape[1] == k + 1:
        dbias = dweights[k]
    else:
        # A matmul with ones beats sum(axis=0) over a tall, narrow array ~10x.
        dbias = np.ones(dy2d.shape[0], dy2d.dtype) @ dy2d
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
    if bands_apply(kernel.shape, g, x.shape[2]):
        cols = conv2d_forward_cols(x, kernel, None, strides, padding)[1]
    else:
        cols = im2col(x, kernel.shape[:2], strides, g)
    return conv2d_backward_cols(dy, cols, x.shape, kernel, strides, padding)
