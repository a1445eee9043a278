"""Losses: softmax cross-entropy on logits (fused, stable) and mean squared error."""

from __future__ import annotations

import numpy as np


class LossShapeError(ValueError):
    """Predictions and targets that a loss cannot combine."""


def _check_labels(logits: np.ndarray, labels: np.ndarray) -> None:
    if logits.ndim != 2:
        raise LossShapeError(
            f"softmax_cross_entropy: logits must be (n, classes), got {logits.shape}"
        )
    if labels.shape != (logits.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise LossShapeError(
            f"softmax_cross_entropy: labels must be integers of shape ({logits.shape[0]},), "
            f"got {labels.dtype} {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= logits.shape[1]):
        raise LossShapeError(
            f"softmax_cross_entropy: labels must lie in [0, {logits.shape[1] - 1}], "
            f"got min {labels.min()}, max {labels.max()}"
        )


def softmax_cross_entropy_forward(
    logits: np.ndarray, labels: np.ndarray
) -> tuple[float, np.ndarray]:
    """Mean over the batch of -log softmax(logits)[label]; returns (loss, probs (n, classes)).

    Uses log-sum-exp of max-shifted logits, so logits of 1e4 stay finite.
    """
    _check_labels(logits, labels)
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    log_probs_true = shifted[np.arange(len(labels)), labels] - np.log(total[:, 0])
    probs = exp / total
    return float(-log_probs_true.mean()), probs


def softmax_cross_entropy_backward(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """dlogits (n, classes) = (probs - onehot(labels)) / n."""
    _check_labels(probs, labels)
    dlogits = probs.copy()
    dlogits[np.arange(len(labels)), labels] -= 1
    dlogits /= len(labels)
    return dlogits


def mean_squared_error_forward(y: np.ndarray, target: np.ndarray) -> float:
    """Mean of (y - target)^2 over every element (Keras: last axis, then batch)."""
    if y.shape != target.shape:
        raise LossShapeError(f"mean_squared_error: y {y.shape} and target {target.shape} differ")
    return float(np.mean((y - target) ** 2))


def mean_squared_error_backward(y: np.ndarray, target: np.ndarray) -> np.ndarray:
    """dy like y = 2 (y - target) / size."""
    if y.shape != target.shape:
        raise LossShapeError(f"mean_squared_error: y {y.shape} and target {target.shape} differ")
    return (2 / y.size) * (y - target)
