"""Refolding: after the updates of a fine-tuning step, the weights the predictions draw are
recomputed on the GPU from the trained ones, so a predict right after a step sees it.

A BatchNormalization's a = gamma / sqrt(moving_variance + epsilon) and b = beta -
moving_mean * a come first (the step's next forward reads them too); then, for one folded
into the Dense/Conv2D before it, kernel[..., j] * a[j] and bias * a + b (b alone without a
bias); for one folded into the Dense after it, kernel[i, :] * a[i] and bias + b · kernel;
for one drawn alone, a and b are what it draws. Every pass reads the updated values (the
twins the optimizer wrote, swapped in after the step) and writes textures no pass of the
step reads before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from webgl_backend.context import GLContext
from webgl_backend.layers import LayerOp
from webgl_backend.ops.channel_affine import (
    batch_norm_coefficients,
    batch_norm_fold_bias,
    channel_scale,
    row_scale,
)
from webgl_backend.ops.dense import dense_forward_programs
from webgl_backend.tensor import GpuTensor
from webgl_backend.training.parameters import Draw


@dataclass
class BatchNormGroup:
    """A BatchNormalization as the step draws it (`bn`, a `batch_norm.training_op`) and
    the model's op that predictions draw for it (`target`): folded into `layer`, the
    Dense/Conv2D before it ('producer') or the Dense after it ('consumer'), or 'alone'."""

    side: str
    bn: LayerOp
    layer: LayerOp | None
    target: LayerOp

    def trained_tensors(self) -> list[GpuTensor]:
        statistics = self.bn.attrs["statistics"]
        layer = self.layer.weights if self.layer is not None else []
        return [t for t in (statistics.gamma, statistics.beta, *layer) if t is not None]


def refold_draws(context: GLContext, group: BatchNormGroup,
                 updated: Callable[[GpuTensor], GpuTensor]) -> list[Draw]:
    """The passes writing `group.target`'s weights (and the step's a and b) from the
    values `updated(tensor)` holds after the updates."""
    mts = context.max_texture_size
    statistics = group.bn.attrs["statistics"]
    a, b = group.bn.weights
    draws: list[Draw] = []

    def add(what: str, program, named: dict[str, GpuTensor], output: GpuTensor) -> None:
        draws.append(Draw(f"{group.bn.layer_name} refold {what}", context.compile(program),
                          [named[name] for name in program.inputs], output))

    named = {"mean": statistics.mean, "variance": statistics.variance}
    if statistics.gamma is not None:
        named["gamma"] = updated(statistics.gamma)
    if statistics.beta is not None:
        named["beta"] = updated(statistics.beta)
    channels = a.shape[0]
    coefficients = {output: batch_norm_coefficients(
        channels, statistics.epsilon, output, gamma=statistics.gamma is not None,
        beta=statistics.beta is not None, max_texture_size=mts) for output in ("scale", "shift")}
    add("a", coefficients["scale"], named, a)
    add("b", coefficients["shift"], named, b)
    if group.side == "alone":
        return draws
    kernel = updated(group.layer.weights[0])
    bias = updated(group.layer.weights[1]) if len(group.layer.weights) > 1 else None
    folded_kernel, folded_bias = group.target.weights
    if group.side == "producer":
        add("kernel", channel_scale(kernel.shape, max_texture_size=mts),
            {"x": kernel, "scale": a}, folded_kernel)
        if bias is None:
            add("bias", coefficients["shift"], named, folded_bias)
        else:
            add("bias", batch_norm_fold_bias(channels, max_texture_size=mts),
                {"bias": bias, "scale": a, "shift": b}, folded_bias)
        return draws
    rows, units = kernel.shape
    add("kernel", row_scale(kernel.shape, max_texture_size=mts), {"x": kernel, "scale": a},
        folded_kernel)
    # bias + b · kernel is a one-row Dense; a and b are never swapped, so views are safe.
    [program] = dense_forward_programs((1, rows), kernel.shape,
                                       None if bias is None else bias.shape,
                                       max_texture_size=mts)
    add("bias", program, {"x": b.reshape((1, rows)), "kernel": kernel, "bias": bias},
        folded_bias.reshape((1, units)))
    return draws
