"""Layers that move no values: InputLayer (declares the input), Flatten (a view, NHWC
order), Dropout (the identity at inference and while fine-tuning)."""

from __future__ import annotations

from webgl_backend.codegen import Program
from webgl_backend.layers import configs
from webgl_backend.layers.entry import BackwardStep, LayerEntry, LayerOp, ParityCase
from webgl_backend.ops.reshape import is_view, reshape_forward
from webgl_backend.tensor import GpuTensor


def _nothing(context, spec) -> None:
    return None


def _flatten_op(context, spec) -> LayerOp:
    return LayerOp(spec.name, FLATTEN, "view", {"shape": tuple(spec.output_shape)})


def _flatten_forward(op: LayerOp, x_shape: tuple[int, ...], x_width: int,
                     max_texture_size: int) -> list[Program]:
    """No draw when the packing allows a view of the same texture, else one repacking draw."""
    y_shape = (x_shape[0],) + tuple(op.view_shape)
    if is_view(x_shape, y_shape):
        return []
    return [reshape_forward(x_shape, y_shape, max_texture_size=max_texture_size,
                            widths={"x": x_width})]


def _flatten_backward(op: LayerOp, step: BackwardStep) -> GpuTensor | None:
    """dx is dy viewed back in x's shape, or repacked by one draw when no view is possible."""
    if not step.need_dx:
        return None
    dy, x = step.dy, step.x
    if is_view(dy.shape, x.shape):
        return dy.reshape(x.shape)
    program = reshape_forward(dy.shape, x.shape, max_texture_size=step.max_texture_size,
                              widths={"x": dy.texture.width})
    return step.add(f"{op.layer_name} dx", program, {"x": dy})


INPUT_LAYER = LayerEntry(
    class_name="InputLayer",
    config_keys=configs.INPUT_LAYER_KEYS,
    read_config=configs.read_input_layer,
    to_op=_nothing,
    forward=None,
    backward=None,
    no_backward="declares the input shape; it is no op and has no gradient",
    reference="model_export.model.Sequential",
    parity=(ParityCase((5, 7, 3), {}),),
)

FLATTEN = LayerEntry(
    class_name="Flatten",
    config_keys=configs.FLATTEN_KEYS,
    read_config=configs.read_flatten,
    to_op=_flatten_op,
    forward=_flatten_forward,
    backward=_flatten_backward,
    reference="model_export.layers.Flatten",
    parity=(ParityCase((5, 7, 3), {}), ParityCase((3, 3, 4), {})),
)

DROPOUT = LayerEntry(
    class_name="Dropout",
    config_keys=configs.DROPOUT_KEYS,
    read_config=configs.read_dropout,
    to_op=_nothing,
    forward=None,
    backward=None,
    no_backward="the identity at inference and while fine-tuning (the few-sample updates of "
                "the page do not need it), so dx = dy with no pass",
    reference="model_export.layers.Dropout",
    parity=(ParityCase((5, 7, 3), {"rate": 0.5}),),
)
