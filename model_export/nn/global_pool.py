"""global_avg_pool2d and global_max_pool2d: (n, h, w, c) -> (n, c).

Max ties follow max_pool2d's rule: the FIRST maximum in row-major order gets the whole
gradient.
"""

from __future__ import annotations

import numpy as np


class GlobalPoolShapeError(ValueError):
    """An input that is not 4-D NHWC."""


def _check(x_shape: tuple) -> None:
    if len(x_shape) != 4:
        raise GlobalPoolShapeError(
            f"global pooling: x must be 4-D (n, h, w, c), got shape {tuple(x_shape)}")


def global_avg_pool2d_forward(x: np.ndarray) -> np.ndarray:
    """y (n, c): the mean over h and w."""
    _check(x.shape)
    return x.mean(axis=(1, 2))


def global_avg_pool2d_backward(dy: np.ndarray, x_shape: tuple) -> np.ndarray:
    """dx (n, h, w, c): each dy spread evenly over its channel's h * w cells."""
    _check(x_shape)
    n, h, w, c = x_shape
    share = dy / dy.dtype.type(h * w)
    return np.ascontiguousarray(np.broadcast_to(share[:, None, None, :], (n, h, w, c)))


def global_max_pool2d_forward(x: np.ndarray) -> np.ndarray:
    """y (n, c): the max over h and w."""
    _check(x.shape)
    return x.max(axis=(1, 2))


def global_max_pool2d_backward(dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dx like x: dy routed to the first maximum of each (sample, channel)."""
    _check(x.shape)
    n, h, w, c = x.shape
    first = x.reshape(n, h * w, c).argmax(axis=1)  # argmax returns the first maximum
    dx = np.zeros((n, h * w, c), dy.dtype)
    np.put_along_axis(dx, first[:, None, :], dy[:, None, :], axis=1)
    return dx.reshape(x.shape)
