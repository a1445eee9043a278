"""Dense: y = f(x·kernel + bias), kernel (in, units); a softmax after it is fused too."""

from __future__ import annotations

from webgl_backend.codegen import Program
from webgl_backend.layers import configs
from webgl_backend.layers.entry import BackwardStep, LayerEntry, LayerOp, ParityCase, only
from webgl_backend.layers.entry import weight_tensors
from webgl_backend.layers.producer import (
    LINEAR,
    absorbs_activation,
    activation_gradient,
    add_gradients,
    fold_below,
)
from webgl_backend.ops.dense import (
    dense_backward_bias,
    dense_backward_input,
    dense_backward_kernel,
    dense_forward_programs,
    dense_transpose_input,
)
from webgl_backend.ops.dense_grouped_grads import (
    ROWS4_MIN_INPUTS,
    ROWS4_MIN_ROWS,
    dense_backward_input_grouped,
    dense_backward_kernel_grouped,
)
from webgl_backend.tensor import GpuTensor


def to_op(context, spec) -> LayerOp:
    return LayerOp(spec.name, DENSE, "dense",
                   {"activation": spec.config.get("activation", "linear")},
                   weight_tensors(context, spec))


def forward(op: LayerOp, x_shape: tuple[int, ...], x_width: int,
            max_texture_size: int) -> list[Program]:
    """One draw, or from 8 rows two: four rows per fragment, then a gather (ops/dense.py)."""
    bias_shape = op.weights[1].shape if len(op.weights) > 1 else None
    return dense_forward_programs(x_shape, op.weights[0].shape, bias_shape,
                                  activation=op.attrs["activation"], alpha=op.attrs.get("alpha"),
                                  max_texture_size=max_texture_size, widths={"x": x_width})


def backward(op: LayerOp, step: BackwardStep) -> GpuTensor | None:
    """dkernel = xᵀ·dz (from 8 inputs four per fragment, then a gather; else x transposed
    once, when the kernel trains), dbias, dx = dz·kernelᵀ (from 8 rows four per fragment,
    then a gather, which also applies the activation gradient of the op below)."""
    dz, widths, named = activation_gradient(op, step)
    x, mts = step.x, step.max_texture_size
    common = {**LINEAR, "max_texture_size": mts}
    if x.shape[-1] >= ROWS4_MIN_INPUTS:
        dkernel = dense_backward_kernel_grouped(x.shape, dz.shape, max_texture_size=mts,
                                                widths=only(widths, "x", "dy"))
    else:
        dkernel = dense_backward_kernel(x.shape, dz.shape, **common, widths=only(widths, "dy"))
        if step.parameter(op.weights[0]) is not None:
            transpose = dense_transpose_input(x.shape, max_texture_size=mts,
                                              widths=only(widths, "x"))
            named["xt"] = step.add(f"{op.layer_name} xt", transpose, named)
    dbias = dense_backward_bias(dz.shape, **common, widths=only(widths, "dy"))
    dx_then = {}
    if x.shape[0] >= ROWS4_MIN_ROWS:
        fold, dx_then = fold_below(step, step.base_shape(x))
        dx = dense_backward_input_grouped(dz.shape, op.weights[0].shape,
                                          x_shape=step.base_shape(x), max_texture_size=mts,
                                          widths=only(widths, "dy"), **fold)
    else:
        dx = dense_backward_input(dz.shape, op.weights[0].shape, x_shape=step.base_shape(x),
                                  **common, widths=only(widths, "dy"))
    return add_gradients(op, step, named, [dkernel, dbias], dx, dx_then)


DENSE = LayerEntry(
    class_name="Dense",
    config_keys=configs.DENSE_KEYS,
    read_config=configs.read_dense,
    to_op=to_op,
    forward=forward,
    backward=backward,
    absorbs=absorbs_activation,
    reference="model_export.nn.dense.dense_forward",
    parity=(
        ParityCase((7,), {"units": 3, "activation": "relu"}),
        ParityCase((13,), {"units": 5, "activation": "tanh", "use_bias": False}),
        ParityCase((9,), {"units": 6, "activation": "leaky_relu"}),
        ParityCase((40,), {"units": 12, "activation": "sigmoid"}),
    ),
)
