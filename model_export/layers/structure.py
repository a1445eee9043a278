"""Flatten (NHWC order), Dropout (inverted, training only), ZeroPadding2D and Reshape."""

from __future__ import annotations

import numpy as np

from model_export.layers.base import Layer, LayerShapeError, _drop_fixed, _invalid
from model_export.nn.padding import (
    PaddingError,
    normalize_pads,
    zero_padding2d_backward,
    zero_padding2d_forward,
)
from model_export.nn.reshape import ReshapeError, reshape_backward, reshape_forward, resolve_target


class Flatten(Layer):
    """(n, h, w, c) -> (n, h*w*c) in NHWC order, as Keras channels_last."""

    default_name_prefix = "flatten"

    def __init__(self, name: str | None = None):
        super().__init__(name=name)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (int(np.prod(input_shape)),)

    def forward(self, x: np.ndarray, training: bool = False, activate: bool = True) -> np.ndarray:
        self._x_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy: np.ndarray, activated: bool = True) -> np.ndarray:
        return dy.reshape(self._x_shape)

    def get_config(self) -> dict:
        return {**self._base_config(), "data_format": "channels_last"}

    @classmethod
    def _init_kwargs(cls, config: dict) -> dict:
        kwargs = super()._init_kwargs(config)
        _drop_fixed(kwargs, "data_format", ("channels_last", None))
        return kwargs

    def __repr__(self) -> str:
        return "Flatten()"


class Dropout(Layer):
    """Inverted dropout: in training, zero each unit with probability `rate` and scale
    the rest by 1 / (1 - rate); identity at inference. A `seed` gives the layer its
    own generator (repeatable masks); otherwise it draws from the build rng."""

    default_name_prefix = "dropout"

    def __init__(self, rate: float, seed: int | None = None, name: str | None = None):
        super().__init__(name=name)
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)) \
                or not 0 <= rate < 1:
            raise _invalid("rate", "a float in the range [0, 1)", rate)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise _invalid("seed", "an integer or None", seed)
        self.rate = float(rate)
        self.seed = seed
        self._mask: np.ndarray | None = None

    def build(self, input_shape: tuple, rng: np.random.Generator) -> None:
        super().build(input_shape, rng)
        if self.seed is not None:
            self.rng = np.random.default_rng(self.seed)

    def forward(self, x: np.ndarray, training: bool = False, activate: bool = True) -> np.ndarray:
        if not training or self.rate == 0:
            self._mask = None
            return x
        if self.rng is None:
            self.rng = np.random.default_rng(self.seed)
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.rate
        self._mask = keep.astype(x.dtype) * x.dtype.type(1 / (1 - self.rate))
        return x * self._mask

    def backward(self, dy: np.ndarray, activated: bool = True) -> np.ndarray:
        return dy if self._mask is None else dy * self._mask

    def get_config(self) -> dict:
        return {**self._base_config(), "rate": self.rate, "noise_shape": None, "seed": self.seed}

    @classmethod
    def _init_kwargs(cls, config: dict) -> dict:
        kwargs = super()._init_kwargs(config)
        _drop_fixed(kwargs, "noise_shape", (None,))
        return kwargs

    def __repr__(self) -> str:
        return f"Dropout({self.rate}, seed={self.seed})"


class ZeroPadding2D(Layer):
    """Zeros around height and width: padding ((top, bottom), (left, right))."""

    default_name_prefix = "zero_padding2d"

    def __init__(self, padding=1, name: str | None = None):
        super().__init__(name=name)
        try:
            self.pads = normalize_pads(padding)
        except PaddingError:
            raise _invalid("padding", "an int, (rows, cols) or ((top, bottom), (left, right)) "
                                      "of non-negative ints", padding) from None

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        if len(input_shape) != 3:
            raise LayerShapeError(f"{self._label()}: expects input (height, width, channels) "
                                  f"but got input shape {tuple(input_shape)} (without batch).")
        (top, bottom), (left, right) = self.pads
        return (input_shape[0] + top + bottom, input_shape[1] + left + right, input_shape[2])

    def forward(self, x: np.ndarray, training: bool = False, activate: bool = True) -> np.ndarray:
        self._check_input(x)
        return zero_padding2d_forward(x, self.pads)

    def backward(self, dy: np.ndarray, activated: bool = True) -> np.ndarray:
        return zero_padding2d_backward(dy, self.pads)

    def get_config(self) -> dict:
        return {**self._base_config(), "padding": [list(p) for p in self.pads],
                "data_format": "channels_last"}

    @classmethod
    def _init_kwargs(cls, config: dict) -> dict:
        kwargs = super()._init_kwargs(config)
        _drop_fixed(kwargs, "data_format", ("channels_last", None))
        return kwargs

    def __repr__(self) -> str:
        return f"ZeroPadding2D({self.pads})"


class Reshape(Layer):
    """Each sample's values, in NHWC order, under `target_shape` (one -1 allowed)."""

    default_name_prefix = "reshape"

    def __init__(self, target_shape, name: str | None = None):
        super().__init__(name=name)
        self.target_shape = tuple(target_shape)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        try:
            return resolve_target(tuple(input_shape), self.target_shape)
        except ReshapeError as error:
            raise LayerShapeError(f"{self._label()}: {error}") from None

    def forward(self, x: np.ndarray, training: bool = False, activate: bool = True) -> np.ndarray:
        self._x_shape = x.shape
        return reshape_forward(x, self.target_shape)

    def backward(self, dy: np.ndarray, activated: bool = True) -> np.ndarray:
        return reshape_backward(dy, self._x_shape)

    def get_config(self) -> dict:
        return {**self._base_config(),
                "target_shape": list(self.compute_output_shape(self.input_shape))
                if self.built else list(self.target_shape)}

    def __repr__(self) -> str:
        return f"Reshape({self.target_shape})"
