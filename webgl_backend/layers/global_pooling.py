"""GlobalAveragePooling2D and GlobalMaxPooling2D: (n, h, w, c) -> (n, c)."""

from __future__ import annotations

from webgl_backend.codegen import Program
from webgl_backend.layers.entry import BackwardStep, LayerEntry, LayerOp, ParityCase, only
from webgl_backend.layers.keras_configs import GLOBAL_POOL_KEYS, global_pool_reader
from webgl_backend.ops.global_pool import global_pool2d_forward
from webgl_backend.ops.keras_layers_backward import global_pool2d_backward
from webgl_backend.tensor import GpuTensor

# The tensors each backward program reads: max pooling finds the winner again in x.
_BACKWARD_READS = {"avg": ("dy",), "max": ("dy", "x")}


def _to_op(mode: str):
    def to_op(context, spec) -> LayerOp:
        entry = GLOBAL_AVERAGE_POOLING_2D if mode == "avg" else GLOBAL_MAX_POOLING_2D
        return LayerOp(spec.name, entry, f"global_{mode}_pool2d", {"mode": mode})
    return to_op


def _forward(op: LayerOp, x_shape: tuple[int, ...], x_width: int,
             max_texture_size: int) -> list[Program]:
    return [global_pool2d_forward(op.attrs["mode"], x_shape, max_texture_size=max_texture_size,
                                  widths={"x": x_width})]


def _backward(op: LayerOp, step: BackwardStep) -> GpuTensor | None:
    """dx: avg spreads dy / (h*w) over the cells, max gives it to the first maximum."""
    if not step.need_dx:
        return None
    x, dy, mode = step.x, step.dy, op.attrs["mode"]
    widths = {"x": x.texture.width, "dy": dy.texture.width}
    program = global_pool2d_backward(dy.shape, x.shape, mode=mode,
                                     max_texture_size=step.max_texture_size,
                                     widths=only(widths, *_BACKWARD_READS[mode]))
    return step.add(f"{op.layer_name} dx", program, {"x": x, "dy": dy})


_PARITY = (ParityCase((5, 7, 3), {}), ParityCase((2, 3, 6), {}))

GLOBAL_AVERAGE_POOLING_2D = LayerEntry(
    class_name="GlobalAveragePooling2D",
    config_keys=GLOBAL_POOL_KEYS,
    read_config=global_pool_reader("GlobalAveragePooling2D"),
    to_op=_to_op("avg"),
    forward=_forward,
    backward=_backward,
    reference="model_export.nn.global_pool.global_avg_pool2d_forward",
    parity=_PARITY,
)

GLOBAL_MAX_POOLING_2D = LayerEntry(
    class_name="GlobalMaxPooling2D",
    config_keys=GLOBAL_POOL_KEYS,
    read_config=global_pool_reader("GlobalMaxPooling2D"),
    to_op=_to_op("max"),
    forward=_forward,
    backward=_backward,
    reference="model_export.nn.global_pool.global_max_pool2d_forward",
    parity=_PARITY,
)
