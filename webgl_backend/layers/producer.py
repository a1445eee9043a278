"""What Dense and Conv2D share: the fusion rule and the shape of the backward pass.

A producer (z = x·kernel + bias, y = f(z)) absorbs a following activation layer into its
draw. Backward, dz = dy * f'(y) is taken once in one cheap elementwise pass, so the
kernel, bias and input gradients then fetch one texel per dz value instead of two.
"""

from __future__ import annotations

from webgl_backend.codegen import Program
from webgl_backend.layers.entry import BackwardStep, LayerOp, only
from webgl_backend.ops.activations import activation_backward
from webgl_backend.ops.dense import MAX_FUSED_SOFTMAX_UNITS
from webgl_backend.tensor import GpuTensor

# Producer gradient programs read dz (activation already applied): build them linear.
LINEAR = {"activation": "linear"}


def absorbs_activation(op: LayerOp, activation: str) -> bool:
    """Whether an activation layer right after this producer can run inside its draw."""
    if op.attrs["activation"] != "linear":
        return False
    if activation == "softmax":
        return op.kind == "dense" and op.weights[0].shape[1] <= MAX_FUSED_SOFTMAX_UNITS
    return True


def activation_gradient(op: LayerOp, step: BackwardStep
                        ) -> tuple[GpuTensor, dict[str, int], dict[str, GpuTensor]]:
    """(dz, texture widths, tensors by sampler name) after the fused activation's pass."""
    x, y, dy = step.x, step.y, step.dy
    widths = {"x": x.texture.width, "dy": dy.texture.width}
    named = {"x": x, "dy": dy, "y": y}
    activation = op.attrs["activation"]
    if activation == "linear":
        return dy, widths, named
    widths["y"] = y.texture.width
    program = activation_backward(activation, dy.shape, y.shape, op.attrs.get("alpha"),
                                  max_texture_size=step.max_texture_size,
                                  widths=only(widths, "dy", "y"))
    dz = step.add(f"{op.layer_name} dz", program, named)
    return dz, {"x": x.texture.width, "dy": dz.texture.width}, {"x": x, "dy": dz}


def add_gradients(op: LayerOp, step: BackwardStep, named: dict[str, GpuTensor],
                  weight_programs: list[Program], dx_program: Program) -> GpuTensor | None:
    """Append the dkernel/dbias passes of trainable weights, then dx when it is needed."""
    for tensor, program in zip(op.weights, weight_programs):
        parameter = step.parameter(tensor)
        if parameter is not None:
            step.add(f"{op.layer_name} d{parameter.name}", program, named,
                     output=parameter.grad)
    if not step.need_dx:
        return None
    return step.add(f"{op.layer_name} dx", dx_program, {**named, "kernel": op.weights[0]})
