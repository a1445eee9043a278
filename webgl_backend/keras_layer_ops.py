"""The runtime's ops for BatchNormalization, global pooling, the ReLU/ELU/Softmax layer
classes and ZeroPadding2D: spec -> (op kind, attributes, weights), and the program of
each new kind. Reshape is a view, like Flatten.

A BatchNormalization reaching here (one `batchnorm_fold` could not fold) becomes a
`channel_affine` op with its inference scale and shift as weights. ReLU/ELU layers whose
arguments match a fusable activation become plain activation ops, which the runtime fuses
into the producer's draw.

`keras_backward_program` gives the trainer each kind's dx program; `channel_affine` has
none yet (`FORWARD_ONLY_KINDS`), so the trainer refuses it naming the layer.
"""

from __future__ import annotations

from array import array

from webgl_backend.batchnorm_fold import batch_norm_affine
from webgl_backend.codegen import Program
from webgl_backend.model_format import LayerSpec
from webgl_backend.ops.channel_affine import channel_affine_forward
from webgl_backend.ops.global_pool import global_pool2d_forward
from webgl_backend.ops.keras_activations import keras_activation_forward, layer_activation
from webgl_backend.ops.keras_layers_backward import (
    global_pool2d_backward,
    keras_activation_backward,
    zero_padding2d_backward,
)
from webgl_backend.ops.zero_padding import zero_padding2d_forward

KERAS_KINDS = ("channel_affine", "global_avg_pool2d", "global_max_pool2d",
               "keras_activation", "zero_padding2d")
FORWARD_ONLY_KINDS = ("channel_affine",)

HostWeights = list[tuple[tuple[int, ...], array]]


def keras_layer_op(spec: LayerSpec) -> tuple[str, dict, HostWeights]:
    """(kind, attrs, weights as (shape, float32 values)) for one of the new layer classes."""
    name = spec.class_name
    if name == "BatchNormalization":
        a, b = batch_norm_affine(spec)
        channels = (len(a),)
        return "channel_affine", {}, [(channels, array("f", a)), (channels, array("f", b))]
    if name in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        return ("global_avg_pool2d" if "Average" in name else "global_max_pool2d"), {}, []
    if name == "Softmax":
        return "activation", {"activation": "softmax"}, []
    if name in ("ReLU", "ELU"):
        fusable = layer_activation(name, spec.config)
        if fusable is not None:
            return "activation", {"activation": fusable[0], "alpha": fusable[1]}, []
        return "keras_activation", {"class_name": name, "config": spec.config}, []
    if name == "ZeroPadding2D":
        return "zero_padding2d", {"pads": spec.config["padding"]}, []
    raise ValueError(f"keras_layer_op: no op for layer class {name!r}")


def keras_program(kind: str, attrs: dict, x_shape: tuple[int, ...], widths: dict[str, int],
                  max_texture_size: int) -> Program:
    """The forward program of one of FORWARD_ONLY_KINDS for input x (batch included)."""
    options = {"max_texture_size": max_texture_size, "widths": widths}
    if kind == "channel_affine":
        return channel_affine_forward(x_shape, **options)
    if kind in ("global_avg_pool2d", "global_max_pool2d"):
        return global_pool2d_forward(kind.split("_")[1], x_shape, **options)
    if kind == "keras_activation":
        return keras_activation_forward(attrs["class_name"], attrs["config"], x_shape, **options)
    if kind == "zero_padding2d":
        return zero_padding2d_forward(x_shape, attrs["pads"], **options)
    raise ValueError(f"keras_program: unknown op kind {kind!r}")


def keras_backward_program(kind: str, attrs: dict, dy_shape: tuple[int, ...],
                           x_shape: tuple[int, ...], widths: dict[str, int],
                           max_texture_size: int) -> Program:
    """The dx program of a kind of KERAS_KINDS but FORWARD_ONLY_KINDS; `widths` holds the
    real texture widths of dy and x, of which each program is told those it reads."""
    def reads(*names: str) -> dict:
        return {"max_texture_size": max_texture_size,
                "widths": {name: widths[name] for name in names if name in widths}}
    if kind == "global_avg_pool2d":
        return global_pool2d_backward(dy_shape, x_shape, mode="avg", **reads("dy"))
    if kind == "global_max_pool2d":
        return global_pool2d_backward(dy_shape, x_shape, mode="max", **reads("dy", "x"))
    if kind == "zero_padding2d":
        return zero_padding2d_backward(dy_shape, pads=attrs["pads"], **reads("dy"))
    if kind == "keras_activation":
        return keras_activation_backward(dy_shape, x_shape, class_name=attrs["class_name"],
                                         config=attrs["config"], **reads("dy", "x"))
    raise ValueError(f"keras_backward_program: no backward for op kind {kind!r}")
