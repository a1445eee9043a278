"""Element-wise activations and softmax.

Each is `<name>_forward(x) -> y` and `<name>_backward(dy, x, y) -> dx`.

`ACTIVATIONS` maps the Keras/TF.js activation string to an `Activation` pair.
Backward functions take both x and y so each can use whichever is cheaper/stabler.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

LEAKY_RELU_ALPHA = 0.3  # Keras / TF.js LeakyReLU default
ELU_ALPHA = 1.0


def linear_forward(x: np.ndarray) -> np.ndarray:
    return x


def linear_backward(dy: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return dy


def relu_forward(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def relu_backward(dy: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient 0 at x == 0 (TF's convention)."""
    return dy * (x > 0)


def leaky_relu_forward(x: np.ndarray, alpha: float = LEAKY_RELU_ALPHA) -> np.ndarray:
    return np.where(x > 0, x, x * x.dtype.type(alpha))


def leaky_relu_backward(dy: np.ndarray, x: np.ndarray, y: np.ndarray,
                        alpha: float = LEAKY_RELU_ALPHA) -> np.ndarray:
    return np.where(x > 0, dy, dy * dy.dtype.type(alpha))


def elu_forward(x: np.ndarray, alpha: float = ELU_ALPHA) -> np.ndarray:
    # expm1 on min(x, 0) avoids overflow warnings from the branch np.where discards.
    return np.where(x > 0, x, x.dtype.type(alpha) * np.expm1(np.minimum(x, 0)))


def elu_backward(dy: np.ndarray, x: np.ndarray, y: np.ndarray,
                 alpha: float = ELU_ALPHA) -> np.ndarray:
    return np.where(x > 0, dy, dy * (y + y.dtype.type(alpha)))


def sigmoid_forward(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x) computed from e^-|x| so large |x| never overflows."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def sigmoid_backward(dy: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return dy * y * (1 - y)


def tanh_forward(x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


def tanh_backward(dy: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return dy * (1 - y * y)


def softmax_forward(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the row max so exp never overflows."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(dy: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Full Jacobian-vector product: dx = y * (dy - sum(dy * y, last axis))."""
    return y * (dy - (dy * y).sum(axis=-1, keepdims=True))


class Activation(NamedTuple):
    """A forward/backward pair; `takes_alpha` marks the parameterised ones."""

    forward: Callable[..., np.ndarray]
    backward: Callable[..., np.ndarray]
    takes_alpha: bool = False


ACTIVATIONS: dict[str, Activation] = {
    "elu": Activation(elu_forward, elu_backward, True),
    "leaky_relu": Activation(leaky_relu_forward, leaky_relu_backward, True),
    "linear": Activation(linear_forward, linear_backward),
    "relu": Activation(relu_forward, relu_backward),
    "sigmoid": Activation(sigmoid_forward, sigmoid_backward),
    "softmax": Activation(softmax_forward, softmax_backward),
    "tanh": Activation(tanh_forward, tanh_backward),
}


class UnknownActivationError(ValueError):
    """An activation name that is not in ACTIVATIONS."""


def get_activation(name: str | None) -> Activation:
    """Look up an activation by its Keras name; None means linear."""
    key = "linear" if name is None else name
    if key not in ACTIVATIONS:
        raise UnknownActivationError(
            f"Unknown activation {name!r}. Expected one of: {', '.join(sorted(ACTIVATIONS))}."
        )
    return ACTIVATIONS[key]
