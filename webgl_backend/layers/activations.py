"""Activation and LeakyReLU layers: elementwise, fused into a producer right before them."""

from __future__ import annotations

from webgl_backend.codegen import Program
from webgl_backend.layers import configs
from webgl_backend.layers.entry import BackwardStep, LayerEntry, LayerOp, ParityCase, only
from webgl_backend.ops.activations import activation_backward, activation_forward
from webgl_backend.tensor import GpuTensor


def _activation_op(context, spec) -> LayerOp | None:
    activation = spec.config.get("activation", "linear")
    if activation == "linear":
        return None
    return LayerOp(spec.name, ACTIVATION, "activation", {"activation": activation})


def _leaky_relu_op(context, spec) -> LayerOp:
    alpha = spec.config.get("alpha", configs.LEAKY_RELU_DEFAULT_ALPHA)
    return LayerOp(spec.name, LEAKY_RELU, "activation",
                   {"activation": "leaky_relu", "alpha": alpha})


def forward(op: LayerOp, x_shape: tuple[int, ...], x_width: int,
            max_texture_size: int) -> list[Program]:
    return [activation_forward(op.attrs["activation"], x_shape, op.attrs.get("alpha"),
                               max_texture_size=max_texture_size, widths={"x": x_width})]


def backward(op: LayerOp, step: BackwardStep) -> GpuTensor | None:
    """dx = dy * f'(y), from the layer's output y. A final softmax never gets here: the
    trainer takes the loss from its input, the logits."""
    if not step.need_dx:
        return None
    dy, y = step.dy, step.y
    widths = {"x": step.x.texture.width, "dy": dy.texture.width, "y": y.texture.width}
    program = activation_backward(op.attrs["activation"], dy.shape, y.shape,
                                  op.attrs.get("alpha"), max_texture_size=step.max_texture_size,
                                  widths=only(widths, "dy", "y"))
    return step.add(f"{op.layer_name} dx", program, {"x": step.x, "dy": dy, "y": y})


ACTIVATION = LayerEntry(
    class_name="Activation",
    config_keys=configs.ACTIVATION_KEYS,
    read_config=configs.read_activation,
    to_op=_activation_op,
    forward=forward,
    backward=backward,
    fuses_into_producer=True,
    reference="model_export.nn.activations.ACTIVATIONS",
    parity=tuple(ParityCase((5, 7, 3), {"activation": name})
                 for name in ("relu", "elu", "sigmoid", "tanh")),
)

LEAKY_RELU = LayerEntry(
    class_name="LeakyReLU",
    config_keys=configs.LEAKY_RELU_KEYS,
    read_config=configs.read_leaky_relu,
    to_op=_leaky_relu_op,
    forward=forward,
    backward=backward,
    fuses_into_producer=True,
    reference="model_export.nn.activations.leaky_relu_forward",
    parity=(ParityCase((5, 7, 3), {"alpha": 0.1}), ParityCase((9,), {"alpha": 0.0}),
            ParityCase((6,), {})),
)
