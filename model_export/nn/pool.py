"""max_pool2d and avg_pool2d over NHWC input.

Loops run over window positions only (ph * pw strided slices), never over pixels.
Output sizes and `same` pads come from `geometry.window_geometry`, as for conv2d.

Tie rule for max pooling: the FIRST maximum in row-major window order gets the
whole gradient (a later cell replaces the running max only if strictly greater).
The GLSL version uses the same strict `>`. Padded cells are -inf, so they never win.

Average pooling with `same` padding divides by the number of valid (non-padded)
cells in each window, as TF does.
"""

from __future__ import annotations

import numpy as np

from model_export.nn.geometry import Geometry2D, window_geometry


class PoolShapeError(ValueError):
    """Arguments that pooling cannot use."""


def _pair(value, name: str) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    pair = tuple(int(v) for v in value)
    if len(pair) != 2:
        raise PoolShapeError(f"pool2d: {name} must be an int or a pair, got {value!r}")
    return pair


def _geometry(x_shape: tuple, pool_size, strides, padding: str) -> Geometry2D:
    if len(x_shape) != 4:
        raise PoolShapeError(f"pool2d: x must be 4-D (n, h, w, c), got shape {tuple(x_shape)}")
    return window_geometry(x_shape[1:3], _pair(pool_size, "pool_size"),
                           _pair(strides, "strides"), padding)


def _pad(x: np.ndarray, g: Geometry2D, value: float) -> np.ndarray:
    if not g.is_padded:
        return x
    n, h, w, c = x.shape
    xp = np.full((n, h + g.pad_top + g.pad_bottom, w + g.pad_left + g.pad_right, c), value, x.dtype)
    xp[:, g.pad_top:g.pad_top + h, g.pad_left:g.pad_left + w, :] = x
    return xp


def _crop(xp: np.ndarray, g: Geometry2D, x_shape: tuple) -> np.ndarray:
    if not g.is_padded:
        return xp
    h, w = x_shape[1:3]
    return np.ascontiguousarray(xp[:, g.pad_top:g.pad_top + h, g.pad_left:g.pad_left + w, :])


def _window_slices(pool_size, strides, g: Geometry2D):
    """Yield (slice_rows, slice_cols) for each window position in row-major order."""
    ph, pw = _pair(pool_size, "pool_size")
    sh, sw = _pair(strides, "strides")
    for i in range(ph):
        for j in range(pw):
            yield slice(i, i + sh * g.oh, sh), slice(j, j + sw * g.ow, sw)


def _argmax_windows(x, pool_size, strides, padding):
    """Running max over window positions: (y, index of the first max, padded shape, g)."""
    g = _geometry(x.shape, pool_size, strides, padding)
    xp = _pad(x, g, -np.inf)
    y = None
    arg = np.zeros((x.shape[0], g.oh, g.ow, x.shape[3]), np.int32)
    for p, (rows, cols) in enumerate(_window_slices(pool_size, strides, g)):
        v = xp[:, rows, cols, :]
        if y is None:
            y = v.copy()
            continue
        better = v > y  # strict: earlier positions win ties
        np.copyto(y, v, where=better)
        arg[better] = p
    return y, arg, xp.shape, g


def max_pool2d_forward(x: np.ndarray, pool_size=(2, 2), strides=(2, 2),
                       padding: str = "valid") -> np.ndarray:
    """y (n, oh, ow, c): max of each pool window of x (n, h, w, c)."""
    return _argmax_windows(x, pool_size, strides, padding)[0]


def max_pool2d_backward(dy: np.ndarray, x: np.ndarray, pool_size=(2, 2), strides=(2, 2),
                        padding: str = "valid") -> np.ndarray:
    """dx like x: dy routed to the first maximum of each window."""
    _, arg, padded_shape, g = _argmax_windows(x, pool_size, strides, padding)
    dxp = np.zeros(padded_shape, dy.dtype)
    zero = dy.dtype.type(0)
    for p, (rows, cols) in enumerate(_window_slices(pool_size, strides, g)):
        dxp[:, rows, cols, :] += np.where(arg == p, dy, zero)
    return _crop(dxp, g, x.shape)


def _valid_counts(x_shape: tuple, pool_size, strides, g: Geometry2D, dtype) -> np.ndarray:
    """Cells of each window that lie inside the input, shape (1, oh, ow, 1)."""
    if not g.is_padded:
        ph, pw = _pair(pool_size, "pool_size")
        return np.full((1, 1, 1, 1), ph * pw, dtype)
    ones = _pad(np.ones((1, x_shape[1], x_shape[2], 1), dtype), g, 0.0)
    counts = np.zeros((1, g.oh, g.ow, 1), dtype)
    for rows, cols in _window_slices(pool_size, strides, g):
        counts += ones[:, rows, cols, :]
    return counts


def avg_pool2d_forward(x: np.ndarray, pool_size=(2, 2), strides=(2, 2),
                       padding: str = "valid") -> np.ndarray:
    """y (n, oh, ow, c): mean of the valid cells of each pool window of x (n, h, w, c)."""
    g = _geometry(x.shape, pool_size, strides, padding)
    xp = _pad(x, g, 0.0)
    y = np.zeros((x.shape[0], g.oh, g.ow, x.shape[3]), x.dtype)
    for rows, cols in _window_slices(pool_size, strides, g):
        y += xp[:, rows, cols, :]
    y /= _valid_counts(x.shape, pool_size, strides, g, x.dtype)
    return y


def avg_pool2d_backward(dy: np.ndarray, x: np.ndarray, pool_size=(2, 2), strides=(2, 2),
                        padding: str = "valid") -> np.ndarray:
    """dx like x: each window's dy spread evenly over its valid cells."""
    g = _geometry(x.shape, pool_size, strides, padding)
    share = dy / _valid_counts(x.shape, pool_size, strides, g, dy.dtype)
    n, h, w, c = x.shape
    dxp = np.zeros((n, h + g.pad_top + g.pad_bottom, w + g.pad_left + g.pad_right, c), dy.dtype)
    for rows, cols in _window_slices(pool_size, strides, g):
        dxp[:, rows, cols, :] += share
    return _crop(dxp, g, x.shape)
