"""The Keras activation layer classes ReLU(max_value, negative_slope, threshold),
ELU(alpha) and Softmax. One whose arguments are a plain activation (ReLU() is relu,
ReLU(negative_slope=a) leaky_relu, ELU(1.0) elu, Softmax softmax) is an activation op,
fused into the producer before it like an Activation layer; other settings draw their
own program."""

from __future__ import annotations

from webgl_backend.codegen import Program
from webgl_backend.layers import activations
from webgl_backend.layers.entry import BackwardStep, LayerEntry, LayerOp, ParityCase, only
from webgl_backend.layers.keras_configs import (
    ELU_KEYS,
    RELU_KEYS,
    SOFTMAX_KEYS,
    read_elu,
    read_relu,
    read_softmax,
)
from webgl_backend.ops.keras_activations import keras_activation_forward, layer_activation
from webgl_backend.ops.keras_layers_backward import keras_activation_backward
from webgl_backend.ops.softmax import softmax_backward
from webgl_backend.tensor import GpuTensor


def _to_op(context, spec) -> LayerOp:
    entry = RELU if spec.class_name == "ReLU" else ELU
    fusable = layer_activation(spec.class_name, spec.config)
    if fusable is not None:
        return LayerOp(spec.name, entry, "activation",
                       {"activation": fusable[0], "alpha": fusable[1]})
    return LayerOp(spec.name, entry, "keras_activation",
                   {"class_name": spec.class_name, "config": spec.config})


def _forward(op: LayerOp, x_shape: tuple[int, ...], x_width: int,
             max_texture_size: int) -> list[Program]:
    if op.kind == "activation":
        return activations.forward(op, x_shape, x_width, max_texture_size)
    return [keras_activation_forward(op.attrs["class_name"], op.attrs["config"], x_shape,
                                     max_texture_size=max_texture_size, widths={"x": x_width})]


def _backward(op: LayerOp, step: BackwardStep) -> GpuTensor | None:
    """dx = dy * f'(x), from the layer's input (f' of these settings needs x, not y)."""
    if op.kind == "activation":
        return activations.backward(op, step)
    if not step.need_dx:
        return None
    x, dy = step.x, step.dy
    widths = {"x": x.texture.width, "dy": dy.texture.width}
    program = keras_activation_backward(dy.shape, x.shape, class_name=op.attrs["class_name"],
                                        config=op.attrs["config"],
                                        max_texture_size=step.max_texture_size,
                                        widths=only(widths, "dy", "x"))
    return step.add(f"{op.layer_name} dx", program, {"x": x, "dy": dy})


def _softmax_op(context, spec) -> LayerOp:
    return LayerOp(spec.name, SOFTMAX, "activation", {"activation": "softmax"})


def _softmax_backward(op: LayerOp, step: BackwardStep) -> GpuTensor | None:
    """dx = y * (dy - sum(dy * y)) per row. A final Softmax never gets here: the trainer
    takes the loss from its input, the logits."""
    if not step.need_dx:
        return None
    dy, y = step.dy, step.y
    widths = {"dy": dy.texture.width, "y": y.texture.width}
    program = softmax_backward(dy.shape, max_texture_size=step.max_texture_size, widths=widths)
    return step.add(f"{op.layer_name} dx", program, {"x": step.x, "dy": dy, "y": y})


RELU = LayerEntry(
    class_name="ReLU",
    config_keys=RELU_KEYS,
    read_config=read_relu,
    to_op=_to_op,
    forward=_forward,
    backward=_backward,
    fuses_into_producer=True,
    reference="model_export.nn.activation_layers.relu_layer_forward",
    # Only settings TF.js 4.22 computes: the exporter refuses negative_slope and threshold.
    parity=(ParityCase((5, 7, 3), {}), ParityCase((9,), {"max_value": 0.5}),
            ParityCase((6, 4, 2), {"max_value": 6.0})),
)

ELU = LayerEntry(
    class_name="ELU",
    config_keys=ELU_KEYS,
    read_config=read_elu,
    to_op=_to_op,
    forward=_forward,
    backward=_backward,
    fuses_into_producer=True,
    reference="model_export.nn.activations.elu_forward",
    # Only alpha 1.0, the one TF.js 4.22 loads (the exporter refuses others).
    parity=(ParityCase((5, 7, 3), {}), ParityCase((9,), {})),
)

SOFTMAX = LayerEntry(
    class_name="Softmax",
    config_keys=SOFTMAX_KEYS,
    read_config=read_softmax,
    to_op=_softmax_op,
    forward=activations.forward,
    backward=_softmax_backward,
    fuses_into_producer=True,
    reference="model_export.nn.activation_layers.softmax_axis_forward",
    parity=(ParityCase((6,), {}), ParityCase((9,), {})),
)
