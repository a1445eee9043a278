"""Conv2D: y = f(conv(x, kernel) + bias), NHWC, kernel (kh, kw, cin, filters)."""

from __future__ import annotations

from webgl_backend.codegen import Program
from webgl_backend.layers import configs
from webgl_backend.layers.entry import BackwardStep, LayerEntry, LayerOp, ParityCase, only
from webgl_backend.layers.entry import weight_tensors
from webgl_backend.layers.producer import (
    absorbs_activation,
    activation_gradient,
    add_gradients,
    fold_below,
)
from webgl_backend.ops.conv import conv2d_backward_bias
from webgl_backend.ops.conv_groups import (
    BATCH4_MIN_IMAGES,
    conv2d_backward_input_programs,
    conv2d_backward_kernel_programs,
    conv2d_forward_programs,
)
from webgl_backend.tensor import GpuTensor


def to_op(context, spec) -> LayerOp:
    config = spec.config
    attrs = {"activation": config.get("activation", "linear"), "padding": config["padding"],
             "strides": tuple(config.get("strides", (1, 1)))}
    return LayerOp(spec.name, CONV2D, "conv2d", attrs, weight_tensors(context, spec))


def forward(op: LayerOp, x_shape: tuple[int, ...], x_width: int,
            max_texture_size: int) -> list[Program]:
    """One draw; for a batch of images two: four images per fragment, then a gather."""
    attrs = op.attrs
    bias_shape = op.weights[1].shape if len(op.weights) > 1 else None
    return conv2d_forward_programs(x_shape, op.weights[0].shape, bias_shape,
                                   strides=attrs["strides"], padding=attrs["padding"],
                                   activation=attrs["activation"], alpha=attrs.get("alpha"),
                                   max_texture_size=max_texture_size, widths={"x": x_width})


def backward(op: LayerOp, step: BackwardStep) -> GpuTensor | None:
    """dkernel (windows of x against dz), dbias (dz summed), dx (dz against the kernel);
    dkernel four input channels and dx four images per fragment where that pays
    (ops/conv_groups.py; dx's gather also applies the activation gradient of the op below)."""
    dz, widths, named = activation_gradient(op, step)
    x, kernel = step.x, op.weights[0]
    mts = step.max_texture_size
    geometry = {"strides": op.attrs["strides"], "padding": op.attrs["padding"],
                "max_texture_size": mts}
    dkernel = conv2d_backward_kernel_programs(x.shape, dz.shape, kernel_size=kernel.shape[:2],
                                              **geometry, widths=only(widths, "x", "dy"))
    dbias = conv2d_backward_bias(dz.shape, activation="linear", max_texture_size=mts,
                                 widths=only(widths, "dy"))
    fold, dx_then = fold_below(step, x.shape) if x.shape[0] >= BATCH4_MIN_IMAGES else ({}, {})
    dx = conv2d_backward_input_programs(dz.shape, kernel.shape, x_shape=x.shape, **geometry,
                                        widths=only(widths, "dy"), **fold)
    return add_gradients(op, step, named, [dkernel, dbias], dx, dx_then)


CONV2D = LayerEntry(
    class_name="Conv2D",
    config_keys=configs.CONV2D_KEYS,
    read_config=configs.read_conv2d,
    to_op=to_op,
    forward=forward,
    backward=backward,
    absorbs=absorbs_activation,
    reference="model_export.nn.conv.conv2d_forward",
    parity=(
        ParityCase((5, 7, 3), {"filters": 4, "kernel_size": 3, "activation": "relu"}),
        ParityCase((7, 5, 1), {"filters": 3, "kernel_size": 2, "strides": 2, "padding": "same",
                               "activation": "elu"}),
        ParityCase((6, 6, 2), {"filters": 5, "kernel_size": 1, "use_bias": False}),
    ),
)
