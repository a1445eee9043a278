"""BatchNormalization at inference: y = x * a + b per channel of the last axis, with
a = gamma / sqrt(moving_variance + epsilon) and b = beta - moving_mean * a.

The forward plan folds it into the Dense/Conv2D next to it where it can
(`forward_plan.fold_batch_norms`), and fine-tuning then trains that layer's folded
kernel and bias. One that cannot be folded (after a nonlinear activation, before a
Conv2D) draws `channel_affine` with a and b as its weights.
"""

from __future__ import annotations

import math
from array import array

from webgl_backend.codegen import Program
from webgl_backend.layers.entry import LayerEntry, LayerOp, ParityCase
from webgl_backend.layers.keras_configs import BATCH_NORM_KEYS, read_batch_norm
from webgl_backend.ops.channel_affine import channel_affine_forward
from webgl_backend.tensor import GpuTensor


def batch_norm_affine(spec) -> tuple[list[float], list[float]]:
    """(a, b) of an inference BatchNormalization spec, in double."""
    values = {name.rsplit("/", 1)[-1]: list(v) for name, _, v in spec.weights}
    mean, variance = values["moving_mean"], values["moving_variance"]
    gamma = values.get("gamma", [1.0] * len(mean))
    beta = values.get("beta", [0.0] * len(mean))
    epsilon = spec.config["epsilon"]
    a = [g / math.sqrt(v + epsilon) for g, v in zip(gamma, variance)]
    b = [bt - m * s for bt, m, s in zip(beta, mean, a)]
    return a, b


def _to_op(context, spec) -> LayerOp:
    a, b = batch_norm_affine(spec)
    channels = (len(a),)
    weights = [GpuTensor.from_host(context, channels, array("f", values)) for values in (a, b)]
    return LayerOp(spec.name, BATCH_NORMALIZATION, "channel_affine", {}, weights)


def _forward(op: LayerOp, x_shape: tuple[int, ...], x_width: int,
             max_texture_size: int) -> list[Program]:
    return [channel_affine_forward(x_shape, max_texture_size=max_texture_size,
                                   widths={"x": x_width})]


BATCH_NORMALIZATION = LayerEntry(
    class_name="BatchNormalization",
    config_keys=BATCH_NORM_KEYS,
    read_config=read_batch_norm,
    to_op=_to_op,
    forward=_forward,
    backward=None,
    no_backward="fine-tuning trains the Dense/Conv2D it is folded into at load (moving "
                "statistics and gamma frozen; export unfolds the change into the file's "
                "layers); one that cannot be folded is refused by name",
    reference="model_export.nn.batchnorm.batch_norm_inference_forward",
    # Cases the page can fine-tune: folded into the Dense after them.
    parity=(ParityCase((6,), {}), ParityCase((5,), {"epsilon": 0.01, "center": False})),
)
