"""What Dense and Conv2D share: the fusion rule and the shape of the backward pass.

A producer (z = x·kernel + bias, y = f(z)) absorbs a following activation layer into its
draw. Backward, dz = dy * f'(y) is taken once in one cheap elementwise pass, so the
kernel, bias and input gradients then fetch one texel per dz value instead of two.
"""

from __future__ import annotations

from webgl_backend.codegen import Program, texture_layout
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
    if activation == "linear" or step.dy_is_dz:  # dy_is_dz: the op above applied f'(y)
        return dy, widths, named
    widths["y"] = y.texture.width
    program = activation_backward(activation, dy.shape, y.shape, op.attrs.get("alpha"),
                                  max_texture_size=step.max_texture_size,
                                  widths=only(widths, "dy", "y"))
    dz = step.add(f"{op.layer_name} dz", program, named)
    return dz, {"x": x.texture.width, "dy": dz.texture.width}, {"x": x, "dy": dz}


Passes = Program | list[Program]


def add_passes(step: BackwardStep, label: str, passes: Passes, named: dict[str, GpuTensor],
               output: GpuTensor | None = None,
               then: dict[str, GpuTensor] | None = None) -> GpuTensor:
    """Append one pass, or a chain: a multiple-render-target program whose outputs the
    next program reads as part0, part1, ... (a gather, which also reads `then`); the last
    one writes `output`."""
    chain = passes if isinstance(passes, list) else [passes]
    result = None
    for index, program in enumerate(chain):
        last = index == len(chain) - 1
        result = step.add(label if last else f"{label} parts", program, named,
                          output=output if last else None)
        if isinstance(result, list):
            named = {**{f"part{j}": part for j, part in enumerate(result)}, **(then or {})}
    return result


def fold_below(step: BackwardStep, out_shape) -> tuple[dict, dict[str, GpuTensor]]:
    """For the gather ending a grouped dx chain: (its activation kwargs, the tensors it also
    reads). It applies the op below's activation gradient when `step.below` offers it and
    that op's output shares dx's layout (then `step.folded` is set)."""
    if step.below is not None:
        activation, alpha, y = step.below
        if y.shape == tuple(out_shape) and y.texture.width == texture_layout(
                tuple(out_shape), step.max_texture_size)[0]:
            step.folded = True
            return {"activation": activation, "alpha": alpha}, {"y": y}
    return {}, {}


def add_gradients(op: LayerOp, step: BackwardStep, named: dict[str, GpuTensor],
                  weight_passes: list[Passes], dx_passes: Passes,
                  dx_then: dict[str, GpuTensor] | None = None) -> GpuTensor | None:
    """Append the dkernel/dbias passes of trainable weights, then dx when it is needed
    (a grouped dx chain's gather also reads `dx_then`)."""
    for tensor, passes in zip(op.weights, weight_passes):
        parameter = step.parameter(tensor)
        if parameter is not None:
            add_passes(step, f"{op.layer_name} d{parameter.name}", passes, named,
                       output=parameter.grad)
    if not step.need_dx:
        return None
    return add_passes(step, f"{op.layer_name} dx", dx_passes,
                      {**named, "kernel": op.weights[0]}, then=dx_then)
