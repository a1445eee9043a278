"""Reading a layer's model.json config: which keys each class takes, their defaults and
checks, its output shape and the weights it needs.

A reader is `(where, config, input_shape) -> (normalized config, output shape, weights)`,
`weights` as (short name, shape, why that shape) in Keras order (kernel, bias).
"""

from __future__ import annotations

from webgl_backend.errors import ModelFormatError
from webgl_backend.json_values import (
    format_shape,
    is_int,
    is_number,
    product,
)

ACTIVATIONS = ("linear", "relu", "elu", "sigmoid", "tanh", "softmax")
PADDINGS = ("valid", "same")
LEAKY_RELU_DEFAULT_ALPHA = 0.3  # Keras 2 and tfjs-layers
COMMON_KEYS = frozenset({"name", "trainable", "dtype", "batch_input_shape"})
# Training-time settings: accepted (null or {class_name, config}), unused at inference.
PARAMETER_KEYS = frozenset({"kernel_initializer", "bias_initializer", "kernel_regularizer",
                             "bias_regularizer", "activity_regularizer", "kernel_constraint",
                             "bias_constraint"})
# Keys any layer may carry that never change what it computes (Keras 3's serialization
# keys, InputLayer's `optional`); and the spellings of the input shape read as
# batch_input_shape.
IGNORED_KEYS = frozenset({"module", "registered_name", "build_config", "optional", "autocast",
                          "input_dtype"})
INPUT_SHAPE_KEYS = frozenset({"batch_shape", "input_shape"})
INPUT_LAYER_KEYS = frozenset({"batch_input_shape", "dtype", "sparse", "ragged", "name"})
DENSE_KEYS = COMMON_KEYS | PARAMETER_KEYS | {"units", "activation", "use_bias"}
CONV2D_KEYS = COMMON_KEYS | PARAMETER_KEYS | {"filters", "kernel_size", "strides", "padding",
                                              "data_format", "dilation_rate", "groups",
                                              "activation", "use_bias"}
POOL_KEYS = COMMON_KEYS | {"pool_size", "strides", "padding", "data_format"}
FLATTEN_KEYS = COMMON_KEYS | {"data_format"}
DROPOUT_KEYS = COMMON_KEYS | {"rate", "noise_shape", "seed"}
ACTIVATION_KEYS = COMMON_KEYS | {"activation"}
LEAKY_RELU_KEYS = COMMON_KEYS | {"alpha"}


def _activation(where: str, config: dict, default: str | None = "linear") -> str:
    value = config.get("activation", default)
    if value not in ACTIVATIONS:
        raise ModelFormatError(f"model.json: {where}: unknown activation {value!r} "
                               f"(supported: {', '.join(ACTIVATIONS)})")
    return value


def bool_key(where: str, config: dict, key: str, default: bool) -> bool:
    value = config.get(key, default)
    if not isinstance(value, bool):
        raise ModelFormatError(f"model.json: {where}: {key} must be true or false, got {value!r}")
    return value


def _positive_int(where: str, config: dict, key: str) -> int:
    if key not in config:
        raise ModelFormatError(f"model.json: {where}: config is missing '{key}'")
    value = config[key]
    if not is_int(value) or value <= 0:
        raise ModelFormatError(f"model.json: {where}: {key} must be a positive integer, got "
                               f"{value!r}")
    return value


def _pair(where: str, config: dict, key: str, default) -> list[int]:
    """An int or a list of 2 positive ints, as Keras writes kernel_size/strides/pool_size."""
    value = config.get(key)
    if value is None:
        value = default
    if is_int(value):
        value = [value, value]
    if (not isinstance(value, list) or len(value) != 2
            or not all(is_int(v) and v > 0 for v in value)):
        raise ModelFormatError(f"model.json: {where}: {key} must be a positive integer or a list "
                               f"of 2, got {config.get(key)!r}")
    return list(value)


def _padding(where: str, config: dict) -> str:
    value = config.get("padding", "valid")
    if value not in PADDINGS:
        raise ModelFormatError(f"model.json: {where}: padding {value!r} is not supported "
                               "(expected 'valid' or 'same')")
    return value


def channels_last(where: str, config: dict) -> str:
    value = config.get("data_format")
    if value not in (None, "channels_last"):
        raise ModelFormatError(f"model.json: {where}: data_format {value!r} is not supported "
                               "(expected 'channels_last', NHWC)")
    return "channels_last"


def spatial_input(where: str, class_name: str, input_shape: tuple[int, ...]) -> None:
    if len(input_shape) != 3:
        raise ModelFormatError(f"model.json: {where}: {class_name} needs an input of shape (h, w, "
                               f"c), got {format_shape(input_shape)}")


def _window_out(where: str, size: int, k: int, stride: int, padding: str, what: str) -> int:
    if padding == "same":
        return -(-size // stride)
    if k > size:
        raise ModelFormatError(f"model.json: {where}: {what} {k} does not fit the input size "
                               f"{size} with padding 'valid'")
    return (size - k) // stride + 1


def common_out(config: dict) -> dict:
    out = {"name": config["name"], "trainable": config.get("trainable", True)}
    if "batch_input_shape" in config:
        out["batch_input_shape"] = list(config["batch_input_shape"])
    return out


def read_input_layer(where, config, input_shape):
    for key, default in (("sparse", False), ("ragged", False)):
        if config.get(key, default) is not False:
            raise ModelFormatError(f"model.json: {where}: InputLayer {key}={config[key]!r} is not "
                                   "supported")
    normalized = {"name": config["name"], "batch_input_shape": [None, *input_shape],
                  "dtype": "float32"}
    return normalized, input_shape, []


def read_dense(where, config, input_shape):
    units = _positive_int(where, config, "units")
    activation = _activation(where, config)
    use_bias = bool_key(where, config, "use_bias", True)
    normalized = {**common_out(config), "units": units, "activation": activation,
                  "use_bias": use_bias,
                  **{k: config[k] for k in sorted(PARAMETER_KEYS & config.keys())}}
    features = input_shape[-1]
    weights = [("kernel", (features, units),
                f"input features {features} from input {format_shape(input_shape)}, units {units}")]
    if use_bias:
        weights.append(("bias", (units,), f"units {units}"))
    return normalized, input_shape[:-1] + (units,), weights


def read_conv2d(where, config, input_shape):
    spatial_input(where, "Conv2D", input_shape)
    filters = _positive_int(where, config, "filters")
    if "kernel_size" not in config:
        raise ModelFormatError(f"model.json: {where}: config is missing 'kernel_size'")
    kernel_size = _pair(where, config, "kernel_size", None)
    strides = _pair(where, config, "strides", [1, 1])
    padding = _padding(where, config)
    data_format = channels_last(where, config)
    if _pair(where, config, "dilation_rate", [1, 1]) != [1, 1]:
        raise ModelFormatError(f"model.json: {where}: dilation_rate {config['dilation_rate']!r} is "
                               "not supported (expected 1)")
    if config.get("groups", 1) != 1:
        raise ModelFormatError(f"model.json: {where}: groups {config['groups']!r} is not supported "
                               "(expected 1)")
    activation = _activation(where, config)
    use_bias = bool_key(where, config, "use_bias", True)
    h, w, cin = input_shape
    out_h = _window_out(where, h, kernel_size[0], strides[0], padding, "kernel height")
    out_w = _window_out(where, w, kernel_size[1], strides[1], padding, "kernel width")
    normalized = {**common_out(config), "filters": filters, "kernel_size": kernel_size,
                  "strides": strides, "padding": padding, "data_format": data_format,
                  "dilation_rate": [1, 1], "activation": activation, "use_bias": use_bias,
                  **{k: config[k] for k in sorted(PARAMETER_KEYS & config.keys())}}
    weights = [("kernel", (kernel_size[0], kernel_size[1], cin, filters),
                f"kernel_size {kernel_size}, input channels {cin} from input "
                f"{format_shape(input_shape)}, filters {filters}")]
    if use_bias:
        weights.append(("bias", (filters,), f"filters {filters}"))
    return normalized, (out_h, out_w, filters), weights


def pool_reader(class_name):
    def build(where, config, input_shape):
        spatial_input(where, class_name, input_shape)
        pool_size = _pair(where, config, "pool_size", [2, 2])
        strides = _pair(where, config, "strides", pool_size)  # Keras: strides None = pool_size
        padding = _padding(where, config)
        data_format = channels_last(where, config)
        h, w, c = input_shape
        out_h = _window_out(where, h, pool_size[0], strides[0], padding, "pool height")
        out_w = _window_out(where, w, pool_size[1], strides[1], padding, "pool width")
        normalized = {**common_out(config), "pool_size": pool_size, "strides": strides,
                      "padding": padding, "data_format": data_format}
        return normalized, (out_h, out_w, c), []
    return build


def read_flatten(where, config, input_shape):
    data_format = channels_last(where, config)
    return ({**common_out(config), "data_format": data_format},
            (product(input_shape),), [])


def read_dropout(where, config, input_shape):
    rate = config.get("rate")
    if not is_number(rate) or not 0.0 <= rate < 1.0:
        raise ModelFormatError(f"model.json: {where}: rate must be a number in [0, 1), got "
                               f"{rate!r}")
    if config.get("noise_shape") is not None:
        raise ModelFormatError(f"model.json: {where}: noise_shape {config['noise_shape']!r} is not "
                               "supported (expected null)")
    seed = config.get("seed")
    if seed is not None and not is_int(seed):
        raise ModelFormatError(f"model.json: {where}: seed must be an integer or null, got "
                               f"{seed!r}")
    return {**common_out(config), "rate": rate, "noise_shape": None, "seed": seed}, input_shape, []


def read_activation(where, config, input_shape):
    if "activation" not in config:
        raise ModelFormatError(f"model.json: {where}: config is missing 'activation'")
    activation = _activation(where, config)
    return {**common_out(config), "activation": activation}, input_shape, []


def read_leaky_relu(where, config, input_shape):
    alpha = config.get("alpha", LEAKY_RELU_DEFAULT_ALPHA)
    if not is_number(alpha):
        raise ModelFormatError(f"model.json: {where}: alpha must be a finite number, got {alpha!r}")
    return {**common_out(config), "alpha": alpha}, input_shape, []
