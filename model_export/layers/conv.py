"""Conv2D: y = f(conv(x, kernel) + bias), NHWC, kernel (kh, kw, cin, filters)."""

from __future__ import annotations

import numpy as np

from model_export.nn.conv import conv2d_backward_cols, conv2d_forward_cols
from model_export.nn.geometry import window_geometry
from model_export.layers.base import (
    LayerShapeError,
    _drop_fixed,
    _padding,
    _positive_int,
    _positive_pair,
    _WeightedLayer,
)


class Conv2D(_WeightedLayer):
    """2-D convolution, NHWC, kernel (kh, kw, cin, filters), TF `same`/`valid` padding."""

    default_name_prefix = "conv2d"

    def __init__(self, filters: int, kernel_size, strides=(1, 1), padding: str = "valid",
                 activation: str | None = None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, name: str | None = None):
        self.filters = _positive_int("filters", filters)
        self.kernel_size = _positive_pair("kernel_size", kernel_size)
        self.strides = _positive_pair("strides", strides)
        self.padding = _padding(padding)
        super().__init__(activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, name)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        if len(input_shape) != 3:
            raise LayerShapeError(
                f"{self._label()}: expects input (height, width, channels) but got input shape "
                f"{tuple(input_shape)} (without batch)."
            )
        g = window_geometry(input_shape[:2], self.kernel_size, self.strides, self.padding)
        return (g.oh, g.ow, self.filters)

    def build(self, input_shape: tuple, rng: np.random.Generator) -> None:
        super().build(input_shape, rng)
        kernel_shape = self.kernel_size + (self.input_shape[2], self.filters)
        self._create_weights(kernel_shape, self.filters, rng)

    def forward(self, x: np.ndarray, training: bool = False, activate: bool = True) -> np.ndarray:
        self._check_input(x)
        # The previous step's window matrix is overwritten: nothing reads it after backward.
        z, cols = conv2d_forward_cols(x, self.weights["kernel"], self.weights.get("bias"),
                                      self.strides, self.padding, reuse=self._cache.get("cols"))
        self._cache = {"x_shape": x.shape, "cols": cols}
        return self._activate(z, activate)

    def backward(self, dy: np.ndarray, activated: bool = True) -> np.ndarray | None:
        """dx like the input, or None when `input_gradient_needed` is False."""
        dz = self._pre_activation_grad(dy, activated)
        dx, dkernel, dbias = conv2d_backward_cols(
            dz, self._cache["cols"], self._cache["x_shape"], self.weights["kernel"],
            self.strides, self.padding, need_dx=self.input_gradient_needed)
        self._store_grads(dkernel, dbias)
        return dx

    def get_config(self) -> dict:
        return {
            **self._base_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": "channels_last",
            "dilation_rate": [1, 1],
            "groups": 1,
            **self._weighted_config(),
        }

    @classmethod
    def _init_kwargs(cls, config: dict) -> dict:
        kwargs = super()._init_kwargs(config)
        _drop_fixed(kwargs, "data_format", ("channels_last",))
        if "dilation_rate" in kwargs:
            kwargs["dilation_rate"] = list(_positive_pair("dilation_rate", kwargs["dilation_rate"]))
        _drop_fixed(kwargs, "dilation_rate", ([1, 1],))
        _drop_fixed(kwargs, "groups", (1,))
        return kwargs

    def __repr__(self) -> str:
        return (f"Conv2D({self.filters}, kernel_size={self.kernel_size}, strides={self.strides}, "
                f"padding={self.padding!r}{self._activation_repr()})")
