"""Config readers for BatchNormalization, global pooling, the ReLU/Softmax/ELU layer classes,
ZeroPadding2D and Reshape, in `configs`'s form:
`(where, config, input_shape) -> (normalized config, output shape, weights)`.

Keys that only matter while training from scratch (initializers, regularizers, constraints,
`fused`, `synchronized`) are accepted and left out of the normalized config; keys whose
value would change the computation are read, and refused, naming the value and what is
supported, when they ask for something we do not run (BatchNormalization over another axis,
renorm, virtual batches; `keepdims`; a Softmax over another axis).
"""

from __future__ import annotations

from webgl_backend.errors import ModelFormatError
from webgl_backend.json_values import as_json, format_shape, is_int, is_number, product
from webgl_backend.layers.configs import (
    COMMON_KEYS,
    bool_key,
    channels_last,
    common_out,
    spatial_input,
)

BATCH_NORM_DEFAULT_EPSILON = 1e-3  # Keras and tfjs-layers
BATCH_NORM_DEFAULT_MOMENTUM = 0.99
ELU_DEFAULT_ALPHA = 1.0
# Accepted and ignored: they shape training from scratch, not what the layer computes.
BATCH_NORM_IGNORED = frozenset({
    "beta_initializer", "gamma_initializer", "moving_mean_initializer",
    "moving_variance_initializer", "beta_regularizer", "gamma_regularizer", "beta_constraint",
    "gamma_constraint", "fused", "synchronized", "renorm_clipping", "renorm_momentum"})
_BATCH_NORM_FIXED = {"renorm": (False,), "virtual_batch_size": (None,), "adjustment": (None,)}


def _refuse(where: str, key: str, value, supported: str):
    raise ModelFormatError(f"model.json: {where}: {key} {as_json(value)} is not supported "
                           f"({supported})")


def _number(where: str, config: dict, key: str, default, low: float | None = None,
            strictly: bool = False):
    value = config.get(key, default)
    if value is None and default is None:
        return None
    if not is_number(value) or (low is not None and (value <= low if strictly else value < low)):
        bound = "" if low is None else f" {'>' if strictly else '>='} {low:g}"
        raise ModelFormatError(f"model.json: {where}: {key} must be a finite number{bound}, "
                               f"got {as_json(value)}")
    return float(value)


def _last_axis(where: str, config: dict, key: str, input_shape: tuple) -> int:
    """-1, or the last axis counted with the batch (3 for NHWC), alone or in a list."""
    value = config.get(key, -1)
    axes = value if isinstance(value, list) else [value]
    if len(axes) != 1 or not is_int(axes[0]) or axes[0] not in (-1, len(input_shape)):
        _refuse(where, key, value, f"only the last axis: -1 or {len(input_shape)} for input "
                                   f"{format_shape(input_shape)}")
    return -1


def read_batch_norm(where, config, input_shape):
    _last_axis(where, config, "axis", input_shape)
    for key, allowed in _BATCH_NORM_FIXED.items():
        if config.get(key, allowed[0]) not in allowed:
            _refuse(where, key, config[key], f"expected {as_json(allowed[0])}")
    epsilon = _number(where, config, "epsilon", BATCH_NORM_DEFAULT_EPSILON, 0.0, strictly=True)
    momentum = _number(where, config, "momentum", BATCH_NORM_DEFAULT_MOMENTUM, 0.0)
    if momentum > 1.0:
        _refuse(where, "momentum", config["momentum"], "expected a number in [0, 1]")
    center = bool_key(where, config, "center", True)
    scale = bool_key(where, config, "scale", True)
    channels = input_shape[-1]
    why = f"channels {channels} of input {format_shape(input_shape)}"
    weights = ([("gamma", (channels,), why)] if scale else []) + \
              ([("beta", (channels,), why)] if center else []) + \
              [("moving_mean", (channels,), why), ("moving_variance", (channels,), why)]
    normalized = {**common_out(config), "axis": -1, "momentum": momentum, "epsilon": epsilon,
                  "center": center, "scale": scale}
    return normalized, input_shape, weights


def global_pool_reader(class_name: str):
    def build(where, config, input_shape):
        spatial_input(where, class_name, input_shape)
        data_format = channels_last(where, config)
        if config.get("keepdims", False) is not False:
            _refuse(where, "keepdims", config["keepdims"], "expected false: output (channels,)")
        return ({**common_out(config), "data_format": data_format, "keepdims": False},
                (input_shape[-1],), [])
    return build


def read_relu(where, config, input_shape):
    max_value = _number(where, config, "max_value", None, 0.0)
    negative_slope = _number(where, config, "negative_slope", 0.0, 0.0)
    threshold = _number(where, config, "threshold", 0.0)
    return ({**common_out(config), "max_value": max_value, "negative_slope": negative_slope,
             "threshold": threshold}, input_shape, [])


def read_softmax(where, config, input_shape):
    _last_axis(where, config, "axis", input_shape)
    return {**common_out(config), "axis": -1}, input_shape, []


def read_elu(where, config, input_shape):
    alpha = _number(where, config, "alpha", ELU_DEFAULT_ALPHA)
    return {**common_out(config), "alpha": alpha}, input_shape, []


def zero_pads(where: str, value) -> list[list[int]]:
    """An int, [rows, cols] or [[top, bottom], [left, right]] -> [[t, b], [l, r]]."""
    if is_int(value):
        pads = [[value, value], [value, value]]
    elif isinstance(value, list) and len(value) == 2 and all(is_int(v) for v in value):
        pads = [[value[0], value[0]], [value[1], value[1]]]
    elif (isinstance(value, list) and len(value) == 2
          and all(isinstance(v, list) and len(v) == 2 for v in value)):
        pads = [list(value[0]), list(value[1])]
    else:
        pads = None
    if pads is None or not all(is_int(p) and p >= 0 for pair in pads for p in pair):
        raise ModelFormatError(f"model.json: {where}: padding must be a non-negative integer, "
                               f"[rows, cols] or [[top, bottom], [left, right]], got "
                               f"{as_json(value)}")
    return pads


def read_zero_padding(where, config, input_shape):
    spatial_input(where, "ZeroPadding2D", input_shape)
    data_format = channels_last(where, config)
    (top, bottom), (left, right) = pads = zero_pads(where, config.get("padding", 1))
    h, w, c = input_shape
    return ({**common_out(config), "padding": pads, "data_format": data_format},
            (top + h + bottom, left + w + right, c), [])


def read_reshape(where, config, input_shape):
    target = config.get("target_shape")
    if (not isinstance(target, list) or not target
            or not all(is_int(d) and (d > 0 or d == -1) for d in target)
            or target.count(-1) > 1):
        raise ModelFormatError(f"model.json: {where}: target_shape must be a list of positive "
                               f"integers with at most one -1, got {as_json(target)}")
    size, known = product(input_shape), product(d for d in target if d != -1)
    shape = tuple(size // known if d == -1 else d for d in target)
    if product(shape) != size:
        raise ModelFormatError(f"model.json: {where}: target_shape {as_json(target)} does not "
                               f"hold the {size} values of input {format_shape(input_shape)}")
    return {**common_out(config), "target_shape": list(shape)}, shape, []


BATCH_NORM_KEYS = COMMON_KEYS | BATCH_NORM_IGNORED | set(_BATCH_NORM_FIXED) | {
    "axis", "momentum", "epsilon", "center", "scale"}
GLOBAL_POOL_KEYS = COMMON_KEYS | {"data_format", "keepdims"}
RELU_KEYS = COMMON_KEYS | {"max_value", "negative_slope", "threshold"}
SOFTMAX_KEYS = COMMON_KEYS | {"axis"}
ELU_KEYS = COMMON_KEYS | {"alpha"}
ZERO_PADDING_KEYS = COMMON_KEYS | {"padding", "data_format"}
RESHAPE_KEYS = COMMON_KEYS | {"target_shape"}
