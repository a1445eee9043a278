"""Activation and LeakyReLU layers; the Keras activation layer classes ReLU, ELU, Softmax."""

from __future__ import annotations

import numpy as np

from model_export.nn.activation_layers import relu_layer_backward, relu_layer_forward
from model_export.nn.activations import (
    ELU_ALPHA,
    LEAKY_RELU_ALPHA,
    elu_backward,
    elu_forward,
    get_activation,
    leaky_relu_backward,
    leaky_relu_forward,
)
from model_export.layers.base import Layer, _invalid, _is_number


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


class ReLU(Layer):
    """Keras ReLU: min(x, max_value) above `threshold`, negative_slope * (x - threshold) below."""

    default_name_prefix = "re_lu"

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, name: str | None = None):
        super().__init__(name=name)
        for argument, value in (("negative_slope", negative_slope), ("threshold", threshold)):
            if not _is_number(value) or value < 0:
                raise _invalid(argument, "a float >= 0", value)
        if max_value is not None and (not _is_number(max_value) or max_value < 0):
            raise _invalid("max_value", "None or a float >= 0", max_value)
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope, self.threshold = float(negative_slope), float(threshold)

    def _arguments(self) -> dict:
        return {"max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}

    def forward(self, x: np.ndarray, training: bool = False, activate: bool = True) -> np.ndarray:
        self._x = x
        return relu_layer_forward(x, **self._arguments())

    def backward(self, dy: np.ndarray, activated: bool = True) -> np.ndarray:
        return relu_layer_backward(dy, self._x, **self._arguments())

    def get_config(self) -> dict:
        return {**self._base_config(), **self._arguments()}

    def __repr__(self) -> str:
        return (f"ReLU(max_value={self.max_value}, negative_slope={self.negative_slope}, "
                f"threshold={self.threshold})")


class ELU(Layer):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""

    default_name_prefix = "elu"

    def __init__(self, alpha: float = ELU_ALPHA, name: str | None = None):
        super().__init__(name=name)
        if not _is_number(alpha):
            raise _invalid("alpha", "a finite float", alpha)
        self.alpha = float(alpha)

    def forward(self, x: np.ndarray, training: bool = False, activate: bool = True) -> np.ndarray:
        self._x = x
        self._y = elu_forward(x, self.alpha)
        return self._y

    def backward(self, dy: np.ndarray, activated: bool = True) -> np.ndarray:
        return elu_backward(dy, self._x, self._y, self.alpha)

    def get_config(self) -> dict:
        return {**self._base_config(), "alpha": self.alpha}

    def __repr__(self) -> str:
        return f"ELU(alpha={self.alpha})"


class Softmax(Activation):
    """Softmax over the last axis, as a layer class (a model may end in it)."""

    default_name_prefix = "softmax"

    def __init__(self, axis=-1, name: str | None = None):
        if axis not in (-1, [-1]):
            raise _invalid("axis", "-1 (the last axis)", axis)
        super().__init__("softmax", name=name)

    def get_config(self) -> dict:
        return {**self._base_config(), "axis": -1}

    def __repr__(self) -> str:
        return "Softmax()"
