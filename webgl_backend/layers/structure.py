"""Layers that compute nothing: InputLayer (declares the input), Flatten and Reshape (a
view, NHWC order), Dropout (the identity at inference and while fine-tuning), and
ZeroPadding2D (zeros around height and width)."""

from __future__ import annotations

from webgl_backend.codegen import Program
from webgl_backend.layers import configs
from webgl_backend.layers.entry import BackwardStep, LayerEntry, LayerOp, ParityCase, only
from webgl_backend.layers.keras_configs import (
    RESHAPE_KEYS,
    ZERO_PADDING_KEYS,
    read_reshape,
    read_zero_padding,
)
from webgl_backend.ops.keras_layers_backward import zero_padding2d_backward
from webgl_backend.ops.reshape import is_view, reshape_forward
from webgl_backend.ops.zero_padding import zero_padding2d_forward
from webgl_backend.tensor import GpuTensor


def _nothing(context, spec) -> None:
    return None


def _view_op(context, spec) -> LayerOp:
    entry = FLATTEN if spec.class_name == "Flatten" else RESHAPE
    return LayerOp(spec.name, entry, "view", {"shape": tuple(spec.output_shape)})


def _zero_padding_op(context, spec) -> LayerOp:
    return LayerOp(spec.name, ZERO_PADDING_2D, "zero_padding2d", {"pads": spec.config["padding"]})


def _zero_padding_forward(op: LayerOp, x_shape: tuple[int, ...], x_width: int,
                          max_texture_size: int) -> list[Program]:
    return [zero_padding2d_forward(x_shape, op.attrs["pads"], max_texture_size=max_texture_size,
                                   widths={"x": x_width})]


def _zero_padding_backward(op: LayerOp, step: BackwardStep) -> GpuTensor | None:
    """dx is dy without the padded border."""
    if not step.need_dx:
        return None
    dy = step.dy
    program = zero_padding2d_backward(dy.shape, pads=op.attrs["pads"],
                                      max_texture_size=step.max_texture_size,
                                      widths=only({"dy": dy.texture.width}, "dy"))
    return step.add(f"{op.layer_name} dx", program, {"x": step.x, "dy": dy})


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
    to_op=_view_op,
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

RESHAPE = LayerEntry(
    class_name="Reshape",
    config_keys=RESHAPE_KEYS,
    read_config=read_reshape,
    to_op=_view_op,
    forward=_flatten_forward,
    backward=_flatten_backward,
    reference="model_export.nn.reshape.reshape_forward",
    parity=(ParityCase((12,), {"target_shape": [3, 4]}),
            ParityCase((4, 3, 2), {"target_shape": [-1]}),
            ParityCase((6, 2, 2), {"target_shape": [4, 3, 2]})),
)

ZERO_PADDING_2D = LayerEntry(
    class_name="ZeroPadding2D",
    config_keys=ZERO_PADDING_KEYS,
    read_config=read_zero_padding,
    to_op=_zero_padding_op,
    forward=_zero_padding_forward,
    backward=_zero_padding_backward,
    reference="model_export.nn.padding.zero_padding2d_forward",
    parity=(ParityCase((5, 7, 3), {"padding": 1}),
            ParityCase((4, 3, 2), {"padding": [[1, 2], [0, 3]]})),
)
