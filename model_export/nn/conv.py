"""conv2d: 2-D cross-correlation over NHWC input with a (kh, kw, cin, cout) kernel.

Forward is im2col + one matmul. The im2col copy is one strided-window copy (or, for
cin == 1, one slice copy per kernel position), never a loop over images or pixels. Backward:
- dkernel = cols^T @ dy, one matmul on the cached columns;
- dx: every kernel position's input gradient comes from one batched matmul
  (P, N, cin); they are summed into one contiguous buffer per stride phase
  (row % sh, col % sw), so each `+=` writes whole rows rather than a strided
  lattice, and each phase is interleaved into dx once. A strided `+=` per kernel
  position (plain col2im) was the training bottleneck (see ENVIRONMENT.md).

Column layout: for cin == 1 the columns are stored position-major (K, N) so each
kernel position copies into a contiguous row; otherwise pixel-major (N, K). Either
way `cols` is handed around as an (N, K) matrix (a transposed view for cin == 1),
which BLAS takes without a copy.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from model_export.nn.geometry import Geometry2D, window_geometry


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
    """Zero-pad x (n, h, w, c) by the geometry's pads (no copy when there are none)."""
    if not g.is_padded:
        return x
    n, h, w, c = x.shape
    xp = np.zeros((n, h + g.pad_top + g.pad_bottom, w + g.pad_left + g.pad_right, c), x.dtype)
    xp[:, g.pad_top:g.pad_top + h, g.pad_left:g.pad_left + w, :] = x
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
    """Forward pass that also returns the im2col columns for reuse in backward.

    Returns (y (n, oh, ow, cout), cols (n*oh*ow, K)) with K = kh*kw*cin, or K + 1 when
    the bias was folded in as a ones column (cin == 1); backward reads that from cols.
    """
    g = conv2d_geometry(x.shape, kernel.shape, strides, padding)
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


def _input_gradient(dy2d: np.ndarray, kernel: np.ndarray, x_shape: tuple, strides,
                    g: Geometry2D) -> np.ndarray:
    """dx (n, h, w, cin) from dy as (n*oh*ow, cout), summed per stride phase."""
    kh, kw, cin, cout = kernel.shape
    sh, sw = _pair(strides, "strides")
    n, h, w, _ = x_shape
    oh, ow = g.oh, g.ow
    hp = h + g.pad_top + g.pad_bottom
    wp = w + g.pad_left + g.pad_right
    # (P, cout, cin) so one batched matmul gives every position's patch gradient.
    # Contiguous on purpose: with a transposed view numpy's batched matmul leaves
    # BLAS for its generic loop (measured 2.5x slower unloaded, 30x on a busy machine).
    kernel_t = np.ascontiguousarray(kernel.reshape(kh * kw, cin, cout).transpose(0, 2, 1))
    patches = np.matmul(dy2d, kernel_t).reshape(kh, kw, n, oh, ow, cin)
    single_phase = sh == 1 and sw == 1
    dxp = None if single_phase else np.empty((n, hp, wp, cin), dy2d.dtype)
    for pi in range(min(sh, kh)):
        for pj in range(min(sw, kw)):
            rows = -(-(hp - pi) // sh)
            cols = -(-(wp - pj) // sw)
            phase = np.zeros((n, rows, cols, cin), dy2d.dtype)
            for qi, i in enumerate(range(pi, kh, sh)):
                for qj, j in enumerate(range(pj, kw, sw)):
                    phase[:, qi:qi + oh, qj:qj + ow, :] += patches[i, j]
            if single_phase:
                dxp = phase
            else:
                dxp[:, pi::sh, pj::sw, :] = phase
    if not single_phase and (sh > kh or sw > kw):
        # Phases no kernel position reaches get no gradient; zero them explicitly.
        for pi in range(sh):
            for pj in range(sw):
                if pi >= kh or pj >= kw:
                    dxp[:, pi::sh, pj::sw, :] = 0
    if not g.is_padded:
        return dxp
    return np.ascontiguousarray(dxp[:, g.pad_top:g.pad_top + h, g.pad_left:g.pad_left + w, :])


def conv2d_backward_cols(dy, cols, x_shape, kernel, strides=(1, 1), padding="valid",
                         need_dx: bool = True):
    """Backward from cached columns. Returns (dx or None, dkernel, dbias)."""
    kh, kw, cin, cout = kernel.shape
    g = conv2d_geometry(x_shape, kernel.shape, strides, padding)
    dy2d = dy.reshape(-1, cout)
    k = kh * kw * cin
    dweights = cols.T @ dy2d
    dkernel = dweights[:k].reshape(kh, kw, cin, cout)
    if cols.shape[1] == k + 1:
        dbias = dweights[k]
    else:
        # A matmul with ones beats sum(axis=0) over a tall, narrow array ~10x.
        dbias = np.ones(dy2d.shape[0], dy2d.dtype) @ dy2d
    dx = _input_gradient(dy2d, kernel, x_shape, strides, g) if need_dx else None
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
    cols = im2col(x, kernel.shape[:2], strides, g)
    return conv2d_backward_cols(dy, cols, x.shape, kernel, strides, padding)
