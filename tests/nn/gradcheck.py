"""Central-difference gradient checks in float64, shared by the nn tests.

The loss is sum(y * r) with a fixed random r, so every gradient entry differs
(sum(y) would hide transposed or permuted gradients).
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

RTOL = 1e-6


def numerical_gradient(
    loss: Callable[[], float], tensor: np.ndarray, h: float = 1e-6
) -> np.ndarray:
    """d loss / d tensor by central differences, perturbing `tensor` in place."""
    grad = np.zeros_like(tensor)
    for index in np.ndindex(*tensor.shape):
        original = tensor[index]
        tensor[index] = original + h
        plus = loss()
        tensor[index] = original - h
        minus = loss()
        tensor[index] = original
        grad[index] = (plus - minus) / (2 * h)
    return grad


def assert_gradients_close(name: str, analytic: np.ndarray, numeric: np.ndarray,
                           rtol: float = RTOL) -> None:
    """max|a-n| / max(max|a|, max|n|, 1e-8) < rtol over the tensor.

    Normalising by the tensor's largest magnitude (not per element) keeps entries
    whose true gradient is ~0 from failing on rounding noise. The message names the
    tensor, its shape, the error and the first index past tolerance with both values.
    """
    analytic = np.asarray(analytic, np.float64)
    if analytic.shape != numeric.shape:
        raise AssertionError(
            f"gradient of {name}: shape {analytic.shape}, expected {numeric.shape}"
        )
    if analytic.size == 0:
        return
    diff = np.abs(analytic - numeric)
    scale = max(float(np.abs(analytic).max()), float(np.abs(numeric).max()), 1e-8)
    worst = float(diff.max()) / scale
    if not worst < rtol:  # also fails on NaN
        first = tuple(int(i) for i in np.argwhere(~(diff < rtol * scale))[0])
        raise AssertionError(
            f"gradient of {name} {numeric.shape}: max |a-n| / scale = {worst:.3e} >= {rtol:g} "
            f"(scale {scale:.3e}); first mismatch at {first}: analytic {float(analytic[first])!r}, "
            f"numeric {float(numeric[first])!r}"
        )


def check_gradients(
    f_forward: Callable[..., np.ndarray],
    f_backward: Callable[[np.ndarray], Mapping[str, np.ndarray]],
    inputs: Mapping[str, np.ndarray],
    seed: int = 0,
    h: float = 1e-6,
    rtol: float = RTOL,
) -> None:
    """Check f_backward against central differences of f_forward.

    f_forward(**inputs) -> y; f_backward(dy) -> {input name: gradient} for the
    names to check (any subset of `inputs`). Inputs must be float64; they are
    perturbed in place and restored.
    """
    for name, value in inputs.items():
        if value.dtype != np.float64:
            raise TypeError(f"check_gradients: input {name!r} is {value.dtype}; use float64")
    y = f_forward(**inputs)
    r = np.random.default_rng(seed).standard_normal(np.shape(y))
    analytic = f_backward(r)

    def loss() -> float:
        return float(np.sum(f_forward(**inputs) * r))

    for name, grad in analytic.items():
        numeric = numerical_gradient(loss, inputs[name], h)
        assert_gradients_close(name, grad, numeric, rtol)
