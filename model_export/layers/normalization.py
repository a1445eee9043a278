"""BatchNormalization over the last axis (channels_last)."""

from __future__ import annotations

from typing import Any

import numpy as np

from model_export.layers.base import Layer, _drop_fixed, _invalid, _is_number
from model_export.nn.batchnorm import (
    DEFAULT_EPSILON,
    DEFAULT_MOMENTUM,
    batch_norm_inference_backward,
    batch_norm_inference_forward,
    batch_norm_train_backward,
    batch_norm_train_forward,
    update_moving,
)


class BatchNormalization(Layer):
    """Normalise the last axis: batch statistics in training (the moving averages follow
    them), the moving statistics at inference. gamma/beta train; the moving ones do not."""

    default_name_prefix = "batch_normalization"
    non_trainable_weights = ("moving_mean", "moving_variance")

    def __init__(self, axis=-1, momentum: float = DEFAULT_MOMENTUM,
                 epsilon: float = DEFAULT_EPSILON, center: bool = True, scale: bool = True,
                 name: str | None = None):
        super().__init__(name=name)
        if axis not in (-1, [-1]):
            raise _invalid("axis", "-1 (the last axis, channels_last)", axis)
        if not _is_number(momentum) or not 0 <= momentum <= 1:
            raise _invalid("momentum", "a float in [0, 1]", momentum)
        if not _is_number(epsilon) or epsilon <= 0:
            raise _invalid("epsilon", "a float > 0", epsilon)
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self._cache: dict[str, Any] = {}

    def build(self, input_shape: tuple, rng: np.random.Generator) -> None:
        super().build(input_shape, rng)
        channels = self.input_shape[-1]
        self.weights = {}
        if self.scale:
            self.weights["gamma"] = np.ones(channels, np.float32)
        if self.center:
            self.weights["beta"] = np.zeros(channels, np.float32)
        self.weights["moving_mean"] = np.zeros(channels, np.float32)
        self.weights["moving_variance"] = np.ones(channels, np.float32)

    def forward(self, x: np.ndarray, training: bool = False, activate: bool = True) -> np.ndarray:
        self._check_input(x)
        gamma, beta = self.weights.get("gamma"), self.weights.get("beta")
        if not training:
            self._cache = {"x": x, "statistics": None}
            return batch_norm_inference_forward(x, gamma, beta, self.weights["moving_mean"],
                                                self.weights["moving_variance"], self.epsilon)
        y, statistics = batch_norm_train_forward(x, gamma, beta, self.epsilon)
        for key, batch in (("moving_mean", statistics.mean),
                           ("moving_variance", statistics.variance)):
            self.weights[key][...] = update_moving(self.weights[key], batch, self.momentum)
        self._cache = {"x": x, "statistics": statistics}
        return y.astype(x.dtype, copy=False)

    def backward(self, dy: np.ndarray, activated: bool = True) -> np.ndarray:
        gamma = self.weights.get("gamma")
        statistics = self._cache["statistics"]
        if statistics is None:  # after an inference forward: the statistics are constants
            dx, dgamma, dbeta = batch_norm_inference_backward(
                dy, self._cache["x"], gamma, self.weights["moving_mean"],
                self.weights["moving_variance"], self.epsilon)
        else:
            dx, dgamma, dbeta = batch_norm_train_backward(dy, gamma, statistics, self.epsilon)
        self.grads = {}
        if self.scale:
            self.grads["gamma"] = dgamma.astype(np.float32, copy=False)
        if self.center:
            self.grads["beta"] = dbeta.astype(np.float32, copy=False)
        return dx.astype(dy.dtype, copy=False)

    def get_config(self) -> dict:
        return {**self._base_config(), "axis": -1, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "beta_initializer": {"class_name": "Zeros", "config": {}},
                "gamma_initializer": {"class_name": "Ones", "config": {}},
                "moving_mean_initializer": {"class_name": "Zeros", "config": {}},
                "moving_variance_initializer": {"class_name": "Ones", "config": {}},
                "beta_regularizer": None, "gamma_regularizer": None,
                "beta_constraint": None, "gamma_constraint": None}

    @classmethod
    def _init_kwargs(cls, config: dict) -> dict:
        kwargs = super()._init_kwargs(config)
        for key in ("beta_initializer", "gamma_initializer", "moving_mean_initializer",
                    "moving_variance_initializer"):
            kwargs.pop(key, None)  # the weights come from the file or from build()
        for key in ("beta_regularizer", "gamma_regularizer", "beta_constraint",
                    "gamma_constraint"):
            _drop_fixed(kwargs, key, (None,))
        return kwargs

    def __repr__(self) -> str:
        return f"BatchNormalization(momentum={self.momentum}, epsilon={self.epsilon})"
