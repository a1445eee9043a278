"""The layer lifecycle every numpy layer shares (Keras's): validate in `__init__`,
`build` once the input shape is known, `forward`/`backward`, `get_config`; and the
argument checks and errors, phrased as Keras phrases them."""

from __future__ import annotations

from typing import Any

import numpy as np

from model_export.nn.activations import get_activation
from model_export.nn.geometry import PADDINGS
from model_export.nn.init import get_initializer, initializer_config
from model_export.nn.regularizers import get_regularizer


class LayerConfigError(ValueError):
    """A hyperparameter or config value a layer cannot accept."""


class LayerShapeError(ValueError):
    """An input shape a layer cannot be built for or run on."""


def _invalid(argument: str, expected: str, value: Any) -> LayerConfigError:
    return LayerConfigError(
        f"Invalid value for argument `{argument}`. Expected {expected}. "
        f"Received {argument}={value!r}."
    )


def _positive_int(argument: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise _invalid(argument, "a strictly positive integer", value)
    return int(value)


def _positive_pair(argument: str, value: Any) -> tuple[int, int]:
    """An int or a pair of ints, each >= 1, as a tuple (Keras accepts both)."""
    items = [value, value] if isinstance(value, (int, np.integer)) else value
    try:
        pair = tuple(items)
    except TypeError:
        expected = "an integer or a pair of strictly positive integers"
        raise _invalid(argument, expected, value) from None
    if len(pair) != 2 or any(
        isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in pair
    ):
        raise _invalid(argument, "an integer or a pair of strictly positive integers", value)
    return int(pair[0]), int(pair[1])


def _padding(value: Any) -> str:
    padding = value.lower() if isinstance(value, str) else value
    if padding not in PADDINGS:
        raise _invalid("padding", "one of 'valid', 'same'", value)
    return padding


def _drop_fixed(config: dict, key: str, allowed: tuple) -> None:
    """Remove a config key this implementation supports only at fixed values."""
    if key in config:
        value = config.pop(key)
        if value not in allowed:
            raise LayerConfigError(
                f"Unsupported value for `{key}`: {value!r}. This implementation supports only "
                f"{' or '.join(repr(a) for a in allowed)}."
            )


def _is_number(value) -> bool:
    """A finite int or float (not a bool)."""
    return (not isinstance(value, bool) and isinstance(value, (int, float, np.floating))
            and bool(np.isfinite(value)))


class Layer:
    """Base class: name, trainable, weights/grads dicts, build/forward/backward/config."""

    default_name_prefix = "layer"
    # Weights the optimizer never updates (BatchNormalization's moving statistics).
    non_trainable_weights: tuple[str, ...] = ()

    def __init__(self, name: str | None = None, trainable: bool = True):
        self.name = name
        self.trainable = bool(trainable)
        self.weights: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.built = False
        self.input_shape: tuple | None = None
        self.rng: np.random.Generator | None = None
        self.input_gradient_needed = True

    def build(self, input_shape: tuple, rng: np.random.Generator) -> None:
        """Check input_shape (without batch), create weights, remember the rng."""
        self.input_shape = tuple(int(d) for d in input_shape)
        self.compute_output_shape(self.input_shape)  # validates
        self.rng = rng
        self.built = True

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def forward(self, x: np.ndarray, training: bool = False, activate: bool = True) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray, activated: bool = True) -> np.ndarray:
        raise NotImplementedError

    def regularization_loss(self) -> float:
        return 0.0

    def _base_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable, "dtype": "float32"}

    def get_config(self) -> dict:
        return self._base_config()

    @classmethod
    def _init_kwargs(cls, config: dict) -> dict:
        """Turn a Keras config into __init__ kwargs (fixed-value keys checked and dropped)."""
        kwargs = dict(config)
        _drop_fixed(kwargs, "dtype", ("float32",))
        kwargs.pop("trainable", None)
        return kwargs

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        layer = cls(**cls._init_kwargs(config))
        layer.trainable = bool(config.get("trainable", True))
        return layer

    def _check_input(self, x: np.ndarray) -> None:
        if not self.built:
            raise LayerShapeError(f"{self._label()}: call build(input_shape, rng) before forward")
        if tuple(x.shape[1:]) != self.input_shape:
            raise LayerShapeError(
                f"{self._label()}: expected input (batch,) + {self.input_shape}, got {x.shape}"
            )

    def _label(self) -> str:
        return f"{type(self).__name__} '{self.name}'" if self.name else type(self).__name__


class _WeightedLayer(Layer):
    """Shared by Dense and Conv2D: kernel/bias, activation, kernel regularizer."""

    def __init__(self, activation, use_bias, kernel_initializer, bias_initializer,
                 kernel_regularizer, name, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self.activation = "linear" if activation is None else activation
        self._activation = get_activation(self.activation)
        self.use_bias = bool(use_bias)
        get_initializer(kernel_initializer)  # validate now, not at build
        get_initializer(bias_initializer)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = get_regularizer(kernel_regularizer)
        self._cache: dict[str, Any] = {}

    def _create_weights(self, kernel_shape: tuple, units: int, rng: np.random.Generator) -> None:
        kernel = get_initializer(self.kernel_initializer)(kernel_shape, rng)
        self.weights = {"kernel": np.asarray(kernel, np.float32)}
        if self.use_bias:
            bias = get_initializer(self.bias_initializer)((units,), rng)
            self.weights["bias"] = np.asarray(bias, np.float32)

    def _activate(self, z: np.ndarray, activate: bool) -> np.ndarray:
        self._cache["z"] = z
        if not activate:
            self._cache["y"] = None
            return z
        if self.activation == "relu":
            # In place: z is not needed again, since relu's gradient reads z > 0, which y > 0
            # tells as well. Saves an allocation and a pass per layer on the hot path.
            y = np.maximum(z, 0, out=z)
        else:
            y = self._activation.forward(z)
        self._cache["y"] = y
        return y

    def _pre_activation_grad(self, dy: np.ndarray, activated: bool) -> np.ndarray:
        if not activated:
            return dy
        if self._cache.get("y") is None:
            raise LayerShapeError(
                f"{self._label()}: backward(activated=True) after forward(activate=False)"
            )
        return self._activation.backward(dy, self._cache["z"], self._cache["y"])

    def _store_grads(self, dkernel: np.ndarray, dbias: np.ndarray) -> None:
        kernel = self.weights["kernel"]
        if self.kernel_regularizer is not None:
            dkernel = dkernel + self.kernel_regularizer.gradient(kernel)
        self.grads = {"kernel": dkernel.astype(kernel.dtype, copy=False)}
        if self.use_bias:
            self.grads["bias"] = dbias.astype(self.weights["bias"].dtype, copy=False)

    def regularization_loss(self) -> float:
        if self.kernel_regularizer is None or "kernel" not in self.weights:
            return 0.0
        return float(self.kernel_regularizer.loss(self.weights["kernel"]))

    def _weighted_config(self) -> dict:
        regularizer = self.kernel_regularizer
        return {
            "activation": self.activation,
            "use_bias": self.use_bias,
            "kernel_initializer": initializer_config(self.kernel_initializer),
            "bias_initializer": initializer_config(self.bias_initializer),
            "kernel_regularizer": None if regularizer is None else regularizer.get_config(),
            "bias_regularizer": None,
            "activity_regularizer": None,
            "kernel_constraint": None,
            "bias_constraint": None,
        }

    @classmethod
    def _init_kwargs(cls, config: dict) -> dict:
        kwargs = super()._init_kwargs(config)
        for key in ("bias_regularizer", "activity_regularizer", "kernel_constraint",
                    "bias_constraint"):
            _drop_fixed(kwargs, key, (None,))
        return kwargs

    def _activation_repr(self) -> str:
        return "" if self.activation == "linear" else f", activation={self.activation!r}"
