"""dense: y = x @ kernel + bias, with a Keras-layout kernel (in, out)."""

from __future__ import annotations

import numpy as np


class DenseShapeError(ValueError):
    """Input and kernel shapes that dense cannot combine."""


def _check(x: np.ndarray, kernel: np.ndarray) -> None:
    if x.ndim != 2 or kernel.ndim != 2 or x.shape[1] != kernel.shape[0]:
        raise DenseShapeError(
            f"dense: x must be (n, in) and kernel (in, out) with matching `in`; "
            f"got x {x.shape}, kernel {kernel.shape}"
        )


def dense_forward(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """y (n, out) = x (n, in) @ kernel (in, out) + bias (out,)."""
    _check(x, kernel)
    y = x @ kernel
    if bias is not None:
        y += bias
    return y


def dense_backward(
    dy: np.ndarray, x: np.ndarray, kernel: np.ndarray, need_dx: bool = True
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """dy (n, out) -> (dx (n, in) or None without need_dx, dkernel (in, out), dbias (out,))."""
    _check(x, kernel)
    dx = dy @ kernel.T if need_dx else None
    dkernel = x.T @ dy
    dbias = dy.sum(axis=0)
    return dx, dkernel, dbias
