"""Activation and LeakyReLU layers."""

from __future__ import annotations

import numpy as np

from model_export.nn.activations import (
    LEAKY_RELU_ALPHA,
    get_activation,
    leaky_relu_backward,
    leaky_relu_forward,
)
from model_export.layers.base import Layer, _invalid


class Activation(Layer):
    """Applies a named activation (Keras strings: relu, softmax, ...)."""

    default_name_prefix = "activation"

    def __init__(self, activation: str, name: str | None = None):
        super().__init__(name=name)
        self.activation = "linear" if activation is None else activation
        self._activation = get_activation(self.activation)

    def forward(self, x: np.ndarray, training: bool = False, activate: bool = True) -> np.ndarray:
        self._x = x
        self._y = self._activation.forward(x)
        return self._y

    def backward(self, dy: np.ndarray, activated: bool = True) -> np.ndarray:
        return self._activation.backward(dy, self._x, self._y)

    def get_config(self) -> dict:
        return {**self._base_config(), "activation": self.activation}

    def __repr__(self) -> str:
        return f"Activation({self.activation!r})"


class LeakyReLU(Layer):
    """y = x for x > 0, alpha * x otherwise (Keras/TF.js default alpha 0.3)."""

    default_name_prefix = "leaky_re_lu"

    def __init__(self, alpha: float = LEAKY_RELU_ALPHA, name: str | None = None):
        super().__init__(name=name)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)) \
                or not np.isfinite(alpha) or alpha < 0:
            raise _invalid("alpha", "a finite float >= 0", alpha)
        self.alpha = float(alpha)

    def forward(self, x: np.ndarray, training: bool = False, activate: bool = True) -> np.ndarray:
        self._x = x
        return leaky_relu_forward(x, self.alpha)

    def backward(self, dy: np.ndarray, activated: bool = True) -> np.ndarray:
        return leaky_relu_backward(dy, self._x, None, self.alpha)

    def get_config(self) -> dict:
        return {**self._base_config(), "alpha": self.alpha}

    def __repr__(self) -> str:
        return f"LeakyReLU(alpha={self.alpha})"
