"""MaxPooling2D and AveragePooling2D: a window reduced per channel, NHWC."""

from __future__ import annotations

from webgl_backend.codegen import Program
from webgl_backend.layers import configs
from webgl_backend.layers.entry import BackwardStep, LayerEntry, LayerOp, ParityCase, only
from webgl_backend.ops.pool import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)
from webgl_backend.tensor import GpuTensor

_FORWARD = {"max_pool2d": max_pool2d_forward, "avg_pool2d": avg_pool2d_forward}
_BACKWARD = {"max_pool2d": max_pool2d_backward, "avg_pool2d": avg_pool2d_backward}
# The tensors each backward program reads: max pooling finds the winner again in x.
_BACKWARD_READS = {"max_pool2d": ("dy", "x"), "avg_pool2d": ("dy",)}


def _to_op(kind: str):
    def to_op(context, spec) -> LayerOp:
        config = spec.config
        pool_size = tuple(config.get("pool_size", (2, 2)))
        strides = tuple(config.get("strides") or pool_size)
        entry = MAX_POOLING_2D if kind == "max_pool2d" else AVERAGE_POOLING_2D
        return LayerOp(spec.name, entry, kind, {"pool_size": pool_size, "strides": strides,
                                                "padding": config.get("padding", "valid")})
    return to_op


def forward(op: LayerOp, x_shape: tuple[int, ...], x_width: int,
            max_texture_size: int) -> list[Program]:
    attrs = op.attrs
    return [_FORWARD[op.kind](x_shape, attrs["pool_size"], attrs["strides"], attrs["padding"],
                              max_texture_size=max_texture_size, widths={"x": x_width})]


def backward(op: LayerOp, step: BackwardStep) -> GpuTensor | None:
    """dx: each dy value back to its window (max: to the first maximum only)."""
    if not step.need_dx:
        return None
    x, dy, attrs = step.x, step.dy, op.attrs
    widths = {"x": x.texture.width, "dy": dy.texture.width}
    program = _BACKWARD[op.kind](dy.shape, x.shape, attrs["pool_size"], attrs["strides"],
                                 attrs["padding"], max_texture_size=step.max_texture_size,
                                 widths=only(widths, *_BACKWARD_READS[op.kind]))
    return step.add(f"{op.layer_name} dx", program, {"x": x, "dy": dy, "y": step.y})


_PARITY = (
    ParityCase((5, 7, 3), {"pool_size": 2}),
    ParityCase((7, 5, 2), {"pool_size": 3, "strides": 2, "padding": "same"}),
)

MAX_POOLING_2D = LayerEntry(
    class_name="MaxPooling2D",
    config_keys=configs.POOL_KEYS,
    read_config=configs.pool_reader("MaxPooling2D"),
    to_op=_to_op("max_pool2d"),
    forward=forward,
    backward=backward,
    reference="model_export.nn.pool.max_pool2d_forward",
    parity=_PARITY,
)

AVERAGE_POOLING_2D = LayerEntry(
    class_name="AveragePooling2D",
    config_keys=configs.POOL_KEYS,
    read_config=configs.pool_reader("AveragePooling2D"),
    to_op=_to_op("avg_pool2d"),
    forward=forward,
    backward=backward,
    reference="model_export.nn.pool.avg_pool2d_forward",
    parity=_PARITY,
)
