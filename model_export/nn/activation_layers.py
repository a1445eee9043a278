"""The Keras activation layer classes that take arguments: ReLU and Softmax.

(ELU's layer is `activations.elu_forward` with its alpha; LeakyReLU's is
`activations.leaky_relu_forward`.)

Keras ReLU(max_value, negative_slope, threshold):
    y = min(x, max_value)                  where x > threshold
    y = negative_slope * (x - threshold)   elsewhere
Kinks take TF's one-sided gradients: 0 at x == threshold, 1 at x == max_value (clip's
gradient passes at the bound).
"""

from __future__ import annotations

import numpy as np


def relu_layer_forward(x: np.ndarray, max_value: float | None = None,
                       negative_slope: float = 0.0, threshold: float = 0.0) -> np.ndarray:
    t = x.dtype.type(threshold)
    above = x if max_value is None else np.minimum(x, x.dtype.type(max_value))
    return np.where(x > t, above, (x - t) * x.dtype.type(negative_slope))


def relu_layer_backward(dy: np.ndarray, x: np.ndarray, max_value: float | None = None,
                        negative_slope: float = 0.0, threshold: float = 0.0) -> np.ndarray:
    t = x.dtype.type(threshold)
    passes = x > t
    if max_value is not None:
        passes &= x <= x.dtype.type(max_value)
    below = dy * dy.dtype.type(negative_slope) * (x < t)
    return np.where(passes, dy, below)


def softmax_axis_forward(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along `axis`, shifted by the max so exp never overflows."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_axis_backward(dy: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """dx = y * (dy - sum(dy * y, axis))."""
    return y * (dy - (dy * y).sum(axis=axis, keepdims=True))
