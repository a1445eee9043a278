"""Dense: y = f(x @ kernel + bias), kernel (in, units)."""

from __future__ import annotations

import numpy as np

from model_export.nn.dense import dense_backward, dense_forward
from model_export.layers.base import LayerShapeError, _positive_int, _WeightedLayer


class Dense(_WeightedLayer):
    """y = activation(x @ kernel + bias); x (n, in), kernel (in, units)."""

    default_name_prefix = "dense"

    def __init__(self, units: int, activation: str | None = None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, name: str | None = None):
        self.units = _positive_int("units", units)
        super().__init__(activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, name)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        if len(input_shape) != 1:
            raise LayerShapeError(
                f"{self._label()}: expects a flat input (features,) but got input shape "
                f"{tuple(input_shape)} (without batch). Add a Flatten layer before it."
            )
        return (self.units,)

    def build(self, input_shape: tuple, rng: np.random.Generator) -> None:
        super().build(input_shape, rng)
        self._create_weights((self.input_shape[0], self.units), self.units, rng)

    def forward(self, x: np.ndarray, training: bool = False, activate: bool = True) -> np.ndarray:
        self._check_input(x)
        self._cache = {"x": x}
        return self._activate(dense_forward(x, self.weights["kernel"], self.weights.get("bias")),
                              activate)

    def backward(self, dy: np.ndarray, activated: bool = True) -> np.ndarray | None:
        """dx like the input, or None when `input_gradient_needed` is False."""
        dz = self._pre_activation_grad(dy, activated)
        dx, dkernel, dbias = dense_backward(dz, self._cache["x"], self.weights["kernel"],
                                            need_dx=self.input_gradient_needed)
        self._store_grads(dkernel, dbias)
        return dx

    def get_config(self) -> dict:
        return {**self._base_config(), "units": self.units, **self._weighted_config()}

    def __repr__(self) -> str:
        return f"Dense({self.units}{self._activation_repr()})"
