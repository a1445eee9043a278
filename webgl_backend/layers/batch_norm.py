"""BatchNormalization at inference: y = x * a + b per channel of the last axis, with
a = gamma / sqrt(moving_variance + epsilon) and b = beta - moving_mean * a.

The forward plan folds it into the Dense/Conv2D next to it where it can
(`forward_plan.fold_batch_norms`); one that cannot be folded (first in the model, after a
pooling layer or a nonlinear activation) draws `channel_affine` with a and b as its weights.

Fine-tuning trains gamma and beta with the moving statistics frozen, as Keras advises:
the step draws every BatchNormalization unfolded, as `training_op` (a and b of this step
as its weights, gamma, beta and the statistics in `attrs['statistics']`), and its backward
gives dgamma, dbeta and dx = dy * a. `webgl_backend.training.batch_norm_layers` keeps the
folded weights the predictions draw in step with the trained ones.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

from webgl_backend.codegen import Program
from webgl_backend.errors import TrainingError
from webgl_backend.layers.entry import BackwardStep, LayerEntry, LayerOp, ParityCase
from webgl_backend.layers.keras_configs import BATCH_NORM_KEYS, read_batch_norm
from webgl_backend.ops.channel_affine import (
    batch_norm_backward_beta,
    batch_norm_backward_gamma,
    channel_affine_forward,
    channel_scale,
)
from webgl_backend.tensor import GpuTensor


def batch_norm_values(spec) -> dict[str, list[float]]:
    """{'gamma'?, 'beta'?, 'moving_mean', 'moving_variance'}: the spec's weights by short name."""
    return {name.rsplit("/", 1)[-1]: list(v) for name, _, v in spec.weights}


def batch_norm_affine(spec) -> tuple[list[float], list[float]]:
    """(a, b) of an inference BatchNormalization spec, in double."""
    values = batch_norm_values(spec)
    mean, variance = values["moving_mean"], values["moving_variance"]
    gamma = values.get("gamma", [1.0] * len(mean))
    beta = values.get("beta", [0.0] * len(mean))
    epsilon = spec.config["epsilon"]
    a = [g / math.sqrt(v + epsilon) for g, v in zip(gamma, variance)]
    b = [bt - m * s for bt, m, s in zip(beta, mean, a)]
    return a, b


@dataclass
class BatchNormStatistics:
    """What a fine-tuned BatchNormalization reads besides a and b: gamma and beta (None
    when the layer has none: scale=False, center=False), the frozen moving statistics."""

    gamma: GpuTensor | None
    beta: GpuTensor | None
    mean: GpuTensor
    variance: GpuTensor
    epsilon: float

    def tensors(self) -> list[GpuTensor]:
        return [t for t in (self.gamma, self.beta, self.mean, self.variance) if t is not None]


def _affine_tensors(context, spec) -> list[GpuTensor]:
    channels = (spec.output_shape[-1],)
    return [GpuTensor.from_host(context, channels, array("f", values))
            for values in batch_norm_affine(spec)]


def _to_op(context, spec) -> LayerOp:
    return LayerOp(spec.name, BATCH_NORMALIZATION, "channel_affine", {},
                   _affine_tensors(context, spec))


def training_op(context, spec, affine: list[GpuTensor] | None = None) -> LayerOp:
    """The op a fine-tuning step draws for `spec`, with gamma, beta and the statistics
    uploaded; `affine` are the [a, b] tensors it draws with (new ones when None)."""
    values = batch_norm_values(spec)
    channels = (spec.output_shape[-1],)

    def upload(short: str) -> GpuTensor | None:
        found = values.get(short)
        return None if found is None else GpuTensor.from_host(context, channels,
                                                              array("f", found))

    statistics = BatchNormStatistics(upload("gamma"), upload("beta"), upload("moving_mean"),
                                     upload("moving_variance"), float(spec.config["epsilon"]))
    return LayerOp(spec.name, BATCH_NORMALIZATION, "channel_affine",
                   {"statistics": statistics}, affine or _affine_tensors(context, spec))


def _forward(op: LayerOp, x_shape: tuple[int, ...], x_width: int,
             max_texture_size: int) -> list[Program]:
    return [channel_affine_forward(x_shape, max_texture_size=max_texture_size,
                                   widths={"x": x_width})]


def _trained(step: BackwardStep, tensor: GpuTensor | None):
    """The trainer's parameter for gamma or beta; None when absent or frozen."""
    return None if tensor is None else step.parameter(tensor)


def _backward(op: LayerOp, step: BackwardStep) -> GpuTensor | None:
    """dbeta = dy summed per channel, dgamma = (dy * (x - mean)) summed / sqrt(var + eps),
    dx = dy * a (the statistics are constants: inference-mode normalisation)."""
    statistics = op.attrs.get("statistics")
    if statistics is None:
        raise TrainingError(f"fine-tuning: layer '{op.layer_name}' was built for inference; "
                            "train the op `batch_norm.training_op` makes")
    dy, x, mts = step.dy, step.x, step.max_texture_size
    beta = _trained(step, statistics.beta)
    if beta is not None:
        program = batch_norm_backward_beta(dy.shape, max_texture_size=mts,
                                           widths={"dy": dy.texture.width})
        step.add(f"{op.layer_name} dbeta", program, {"dy": dy}, output=beta.grad)
    gamma = _trained(step, statistics.gamma)
    if gamma is not None:
        program = batch_norm_backward_gamma(x.shape, statistics.epsilon, max_texture_size=mts,
                                            widths={"dy": dy.texture.width,
                                                    "x": x.texture.width})
        step.add(f"{op.layer_name} dgamma", program,
                 {"dy": dy, "x": x, "mean": statistics.mean, "variance": statistics.variance},
                 output=gamma.grad)
    if not step.need_dx:
        return None
    program = channel_scale(dy.shape, max_texture_size=mts, widths={"x": dy.texture.width})
    return step.add(f"{op.layer_name} dx", program, {"x": dy, "scale": op.weights[0]})


BATCH_NORMALIZATION = LayerEntry(
    class_name="BatchNormalization",
    config_keys=BATCH_NORM_KEYS,
    read_config=read_batch_norm,
    to_op=_to_op,
    forward=_forward,
    backward=_backward,
    reference="model_export.nn.batchnorm.batch_norm_inference_forward",
    # Folded into the Dense after it (flat), drawn alone after a Conv2D's tanh (NHWC).
    parity=(ParityCase((6,), {}), ParityCase((5,), {"epsilon": 0.01, "center": False}),
            ParityCase((4, 3, 6), {"scale": False})),
)
