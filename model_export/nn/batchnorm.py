"""batch_norm over the last axis (channels of NHWC, units of a Dense output).

Training normalises with the batch's own statistics over every axis but the last
(biased variance, as Keras 3 and tf-keras's non-fused path); the moving averages then move
towards them: moving = moving * momentum + batch * (1 - momentum). Inference normalises
with the moving statistics, which are constants there: the layer is then the affine map
y = x * a + b with a = gamma / sqrt(moving_variance + epsilon), b = beta - moving_mean * a,
which is what lets a loader fold it into a preceding Dense or Conv2D.

`gamma` None means scale=False (gamma = 1), `beta` None means center=False (beta = 0).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

DEFAULT_EPSILON = 1e-3  # Keras / TF.js
DEFAULT_MOMENTUM = 0.99


class BatchNormShapeError(ValueError):
    """Statistics or gamma/beta whose length is not the input's last axis."""


class BatchStatistics(NamedTuple):
    """What the training forward computed and its backward needs."""

    mean: np.ndarray
    variance: np.ndarray
    x_hat: np.ndarray


def _check_channels(x: np.ndarray, **vectors: np.ndarray | None) -> None:
    channels = x.shape[-1]
    for name, value in vectors.items():
        if value is not None and np.shape(value) != (channels,):
            raise BatchNormShapeError(
                f"batch_norm: {name} must have shape ({channels},) for input {x.shape}, "
                f"got {np.shape(value)}")


def _scale(gamma: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    return np.ones(like.shape[-1], like.dtype) if gamma is None else gamma


def inference_affine(gamma: np.ndarray | None, beta: np.ndarray | None,
                     moving_mean: np.ndarray, moving_variance: np.ndarray,
                     epsilon: float = DEFAULT_EPSILON) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) with batch_norm_inference_forward(x) == x * a + b."""
    a = _scale(gamma, moving_mean) / np.sqrt(moving_variance + moving_variance.dtype.type(epsilon))
    b = -moving_mean * a if beta is None else beta - moving_mean * a
    return a, b


def batch_norm_inference_forward(x: np.ndarray, gamma: np.ndarray | None,
                                 beta: np.ndarray | None, moving_mean: np.ndarray,
                                 moving_variance: np.ndarray,
                                 epsilon: float = DEFAULT_EPSILON) -> np.ndarray:
    """y like x: (x - moving_mean) / sqrt(moving_variance + epsilon) * gamma + beta."""
    _check_channels(x, gamma=gamma, beta=beta, moving_mean=moving_mean,
                    moving_variance=moving_variance)
    a, b = inference_affine(gamma, beta, moving_mean, moving_variance, epsilon)
    return x * a + b


def batch_norm_inference_backward(dy: np.ndarray, x: np.ndarray, gamma: np.ndarray | None,
                                  moving_mean: np.ndarray, moving_variance: np.ndarray,
                                  epsilon: float = DEFAULT_EPSILON
                                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dgamma, dbeta) with the moving statistics frozen (fine-tuning)."""
    inv_std = 1 / np.sqrt(moving_variance + moving_variance.dtype.type(epsilon))
    axes = tuple(range(dy.ndim - 1))
    dgamma = (dy * ((x - moving_mean) * inv_std)).sum(axis=axes)
    dbeta = dy.sum(axis=axes)
    return dy * (_scale(gamma, dy) * inv_std), dgamma, dbeta


def batch_norm_train_forward(x: np.ndarray, gamma: np.ndarray | None, beta: np.ndarray | None,
                             epsilon: float = DEFAULT_EPSILON
                             ) -> tuple[np.ndarray, BatchStatistics]:
    """(y, statistics): x normalised with its own batch mean and biased variance."""
    _check_channels(x, gamma=gamma, beta=beta)
    axes = tuple(range(x.ndim - 1))
    mean = x.mean(axis=axes)
    variance = x.var(axis=axes)
    x_hat = (x - mean) / np.sqrt(variance + variance.dtype.type(epsilon))
    y = x_hat * _scale(gamma, x)
    if beta is not None:
        y = y + beta
    return y, BatchStatistics(mean, variance, x_hat)


def batch_norm_train_backward(dy: np.ndarray, gamma: np.ndarray | None,
                              statistics: BatchStatistics, epsilon: float = DEFAULT_EPSILON
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dgamma, dbeta) through the batch statistics (they depend on x too)."""
    axes = tuple(range(dy.ndim - 1))
    count = dy.size // dy.shape[-1]
    x_hat = statistics.x_hat
    dgamma = (dy * x_hat).sum(axis=axes)
    dbeta = dy.sum(axis=axes)
    inv_std = 1 / np.sqrt(statistics.variance + statistics.variance.dtype.type(epsilon))
    dx_hat_scale = _scale(gamma, dy) * inv_std
    dx = dx_hat_scale * (dy - dbeta / count - x_hat * (dgamma / count))
    return dx, dgamma, dbeta


def update_moving(moving: np.ndarray, batch: np.ndarray,
                  momentum: float = DEFAULT_MOMENTUM) -> np.ndarray:
    """The new moving average (Keras: moving * momentum + batch * (1 - momentum))."""
    m = moving.dtype.type(momentum)
    return moving * m + batch.astype(moving.dtype) * (1 - m)
