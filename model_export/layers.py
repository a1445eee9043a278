"""Keras-like layers over the numpy ops in `model_export.nn`.

Each layer follows the Keras lifecycle: `__init__` validates hyperparameters,
`build(input_shape, rng)` creates float32 weights once the input shape (without
batch) is known, `forward` caches what `backward` needs, and `get_config` returns
exactly the Keras/TF.js config keys so export is a plain dump.

Trainer hooks beyond Keras:
- `forward(x, activate=False)` returns the pre-activation output and
  `backward(dy, activated=False)` takes dy wrt it (loss from logits).
- `input_gradient_needed = False` lets a model skip dx for its first layer
  (Conv2D then skips the costliest part of its backward).
"""

from __future__ import annotations

from typing import Any

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
from model_export.nn.batchnorm import (
    DEFAULT_EPSILON,
    DEFAULT_MOMENTUM,
    batch_norm_inference_backward,
    batch_norm_inference_forward,
    batch_norm_train_backward,
    batch_norm_train_forward,
    update_moving,
)
from model_export.nn.conv import conv2d_backward_cols, conv2d_forward_cols
from model_export.nn.dense import dense_backward, dense_forward
from model_export.nn.geometry import PADDINGS, window_geometry
from model_export.nn.global_pool import (
    global_avg_pool2d_backward,
    global_avg_pool2d_forward,
    global_max_pool2d_backward,
    global_max_pool2d_forward,
)
from model_export.nn.init import get_initializer, initializer_config
from model_export.nn.padding import (
    PaddingError,
    normalize_pads,
    zero_padding2d_backward,
    zero_padding2d_forward,
)
from model_export.nn.pool import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)
from model_export.nn.regularizers import get_regularizer
from model_export.nn.reshape import ReshapeError, reshape_backward, reshape_forward, resolve_target


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

    def backward(self, dy: np.ndarray, activated: bool = True) -> np.ndarray:
        dz = self._pre_activation_grad(dy, activated)
        dx, dkernel, dbias = dense_backward(dz, self._cache["x"], self.weights["kernel"])
        self._store_grads(dkernel, dbias)
        return dx

    def get_config(self) -> dict:
        return {**self._base_config(), "units": self.units, **self._weighted_config()}

    def __repr__(self) -> str:
        return f"Dense({self.units}{self._activation_repr()})"


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
        z, cols = conv2d_forward_cols(x, self.weights["kernel"], self.weights.get("bias"),
                                      self.strides, self.padding)
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


def _is_number(value) -> bool:
    return (not isinstance(value, bool) and isinstance(value, (int, float, np.floating))
            and bool(np.isfinite(value)))


LAYER_CLASSES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (Dense, Conv2D, MaxPooling2D, AveragePooling2D, Flatten, Dropout, Activation,
                LeakyReLU, BatchNormalization, GlobalAveragePooling2D, GlobalMaxPooling2D, ReLU,
                ELU, Softmax, ZeroPadding2D, Reshape)
}


def layer_from_config(spec: dict) -> Layer:
    """Rebuild a layer from {"class_name": ..., "config": {...}} (TF.js layers format)."""
    if not isinstance(spec, dict) or "class_name" not in spec:
        raise LayerConfigError(
            f"Layer spec must be a dict with 'class_name' and 'config'; got {spec!r}"
        )
    class_name = spec["class_name"]
    if class_name not in LAYER_CLASSES:
        raise LayerConfigError(
            f"Unknown layer class {class_name!r}. "
            f"Expected one of: {', '.join(sorted(LAYER_CLASSES))}."
        )
    return LAYER_CLASSES[class_name].from_config(spec.get("config", {}))
