"""MaxPooling2D and AveragePooling2D over NHWC windows; GlobalAverage/MaxPooling2D over\nthe whole height and width."""

from __future__ import annotations

import numpy as np

from model_export.nn.geometry import window_geometry
from model_export.nn.global_pool import (
    global_avg_pool2d_backward,
    global_avg_pool2d_forward,
    global_max_pool2d_backward,
    global_max_pool2d_forward,
)
from model_export.nn.pool import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)
from model_export.layers.base import Layer, LayerShapeError, _drop_fixed, _padding, _positive_pair


class _Pooling2D(Layer):
    """Shared by MaxPooling2D and AveragePooling2D; strides default to pool_size."""

    _forward = staticmethod(max_pool2d_forward)
    _backward = staticmethod(max_pool2d_backward)

    def __init__(self, pool_size=(2, 2), strides=None, padding: str = "valid",
                 name: str | None = None):
        super().__init__(name=name)
        self.pool_size = _positive_pair("pool_size", pool_size)
        self.strides = self.pool_size if strides is None else _positive_pair("strides", strides)
        self.padding = _padding(padding)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        if len(input_shape) != 3:
            raise LayerShapeError(
                f"{self._label()}: expects input (height, width, channels) but got input shape "
                f"{tuple(input_shape)} (without batch)."
            )
        g = window_geometry(input_shape[:2], self.pool_size, self.strides, self.padding)
        return (g.oh, g.ow, input_shape[2])

    def forward(self, x: np.ndarray, training: bool = False, activate: bool = True) -> np.ndarray:
        self._check_input(x)
        self._x = x
        return self._forward(x, self.pool_size, self.strides, self.padding)

    def backward(self, dy: np.ndarray, activated: bool = True) -> np.ndarray:
        return self._backward(dy, self._x, self.pool_size, self.strides, self.padding)

    def get_config(self) -> dict:
        return {**self._base_config(), "pool_size": list(self.pool_size),
                "strides": list(self.strides), "padding": self.padding,
                "data_format": "channels_last"}

    @classmethod
    def _init_kwargs(cls, config: dict) -> dict:
        kwargs = super()._init_kwargs(config)
        _drop_fixed(kwargs, "data_format", ("channels_last",))
        return kwargs

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(pool_size={self.pool_size}, strides={self.strides}, "
                f"padding={self.padding!r})")


class MaxPooling2D(_Pooling2D):
    """Max over each window; the first maximum (row-major) gets the gradient."""

    default_name_prefix = "max_pooling2d"


class AveragePooling2D(_Pooling2D):
    """Mean over the valid cells of each window."""

    default_name_prefix = "average_pooling2d"
    _forward = staticmethod(avg_pool2d_forward)
    _backward = staticmethod(avg_pool2d_backward)


class _GlobalPooling2D(Layer):
    """(n, h, w, c) -> (n, c)."""

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        if len(input_shape) != 3:
            raise LayerShapeError(f"{self._label()}: expects input (height, width, channels) "
                                  f"but got input shape {tuple(input_shape)} (without batch).")
        return (input_shape[2],)

    def get_config(self) -> dict:
        return {**self._base_config(), "data_format": "channels_last", "keepdims": False}

    @classmethod
    def _init_kwargs(cls, config: dict) -> dict:
        kwargs = super()._init_kwargs(config)
        _drop_fixed(kwargs, "data_format", ("channels_last", None))
        _drop_fixed(kwargs, "keepdims", (False,))
        return kwargs

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class GlobalAveragePooling2D(_GlobalPooling2D):
    default_name_prefix = "global_average_pooling2d"

    def forward(self, x: np.ndarray, training: bool = False, activate: bool = True) -> np.ndarray:
        self._check_input(x)
        self._x_shape = x.shape
        return global_avg_pool2d_forward(x)

    def backward(self, dy: np.ndarray, activated: bool = True) -> np.ndarray:
        return global_avg_pool2d_backward(dy, self._x_shape)


class GlobalMaxPooling2D(_GlobalPooling2D):
    default_name_prefix = "global_max_pooling2d"

    def forward(self, x: np.ndarray, training: bool = False, activate: bool = True) -> np.ndarray:
        self._check_input(x)
        self._x = x
        return global_max_pool2d_forward(x)

    def backward(self, dy: np.ndarray, activated: bool = True) -> np.ndarray:
        return global_max_pool2d_backward(dy, self._x)
