"""Fold inference BatchNormalization into a neighbouring Dense or Conv2D at load.

At inference a BatchNormalization is y = x * a + b per channel, a = gamma /
sqrt(moving_variance + epsilon), b = beta - moving_mean * a (model_export/nn/batchnorm.py).
- After a Dense/Conv2D with a linear activation (the usual Conv -> BN -> ReLU):
  kernel[..., j] *= a[j], bias = bias * a + b.
- Before a Dense on a flat input (BN after an activation): kernel[i, :] *= a[i],
  bias += b @ kernel. (A Conv2D after it is not folded: its zero padding would not be
  shifted by b.)
- Otherwise it stays a `channel_affine` op with scale a and shift b.
The arithmetic is done in double, then stored as float32.

Fine-tuning trains the folded kernel and bias with the moving statistics frozen;
`unfold_weights` turns them back into the file's layers: kernel = folded kernel / a; the
bias change goes to the producer's bias (bias = (folded bias - b) / a) or, when it has
none, to BatchNormalization's beta; gamma keeps its value (the kernel carries its scale).
"""

from __future__ import annotations

import math
from array import array
from dataclasses import replace

from webgl_backend.model_format import LayerSpec

PRODUCERS = ("Dense", "Conv2D")


def batch_norm_affine(spec: LayerSpec) -> tuple[list[float], list[float]]:
    """(a, b) of an inference BatchNormalization spec."""
    values = {name.rsplit("/", 1)[-1]: list(v) for name, _, v in spec.weights}
    mean, variance = values["moving_mean"], values["moving_variance"]
    gamma = values.get("gamma", [1.0] * len(mean))
    beta = values.get("beta", [0.0] * len(mean))
    epsilon = spec.config["epsilon"]
    a = [g / math.sqrt(v + epsilon) for g, v in zip(gamma, variance)]
    b = [bt - m * s for bt, m, s in zip(beta, mean, a)]
    return a, b


def _kernel_bias(spec: LayerSpec) -> tuple[tuple[int, ...], list[float], list[float]]:
    kernel_shape, kernel = spec.weights[0][1], list(spec.weights[0][2])
    units = kernel_shape[-1]
    bias = list(spec.weights[1][2]) if len(spec.weights) > 1 else [0.0] * units
    return kernel_shape, kernel, bias


def _with_kernel_bias(spec: LayerSpec, kernel_shape, kernel, bias, name: str) -> LayerSpec:
    """`spec` with new kernel and bias values, named after the layers folded together in
    data order ("conv2d+batch_normalization", "batch_normalization_2+dense_2")."""
    weights = [(spec.weights[0][0], kernel_shape, array("f", kernel)),
               (f"{spec.name}/bias", (kernel_shape[-1],), array("f", bias))]
    return replace(spec, name=name, weights=weights,
                   config={**spec.config, "use_bias": True})


def fold_into_producer(producer: LayerSpec, bn: LayerSpec) -> LayerSpec:
    a, b = batch_norm_affine(bn)
    shape, kernel, bias = _kernel_bias(producer)
    units = shape[-1]
    kernel = [k * a[i % units] for i, k in enumerate(kernel)]
    bias = [bi * s + t for bi, s, t in zip(bias, a, b)]
    return _with_kernel_bias(producer, shape, kernel, bias, f"{producer.name}+{bn.name}")


def fold_into_consumer(bn: LayerSpec, consumer: LayerSpec) -> LayerSpec:
    a, b = batch_norm_affine(bn)
    shape, kernel, bias = _kernel_bias(consumer)
    rows, units = shape
    bias = [bias[j] + sum(b[i] * kernel[i * units + j] for i in range(rows))
            for j in range(units)]
    kernel = [k * a[i // units] for i, k in enumerate(kernel)]
    return _with_kernel_bias(consumer, shape, kernel, bias, f"{bn.name}+{consumer.name}")


def _foldable_producer(spec: LayerSpec | None) -> bool:
    return (spec is not None and spec.class_name in PRODUCERS
            and spec.config.get("activation", "linear") == "linear")


def fold_batch_norms(layers: list[LayerSpec]) -> list[LayerSpec]:
    """The layers with every BatchNormalization folded where it can be (see above)."""
    return fold_plan(layers)[0]


Folds = dict[str, tuple[str, LayerSpec, LayerSpec]]  # folded name -> (side, dense/conv, bn)


def fold_plan(layers: list[LayerSpec]) -> tuple[list[LayerSpec], Folds]:
    """(folded layers, which original pair each folded spec came from)."""
    out, folds = _fold(layers), {}
    originals = {spec.name: spec for spec in layers}
    for spec in out:
        if "+" in spec.name and spec.class_name in PRODUCERS:
            first, bn_name = spec.name.split("+")[:2]
            if originals.get(bn_name) is not None and \
                    originals[bn_name].class_name == "BatchNormalization":
                folds[spec.name] = ("producer", originals[first], originals[bn_name])
            elif originals.get(first) is not None and \
                    originals[first].class_name == "BatchNormalization":
                folds[spec.name] = ("consumer", originals[bn_name], originals[first])
    return out, folds


def unfold_weights(side: str, layer: LayerSpec, bn: LayerSpec,
                   kernel: list[float], bias: list[float]) -> dict[str, array]:
    """The file's weights of `layer` and `bn` from trained folded kernel and bias values."""
    a, b = batch_norm_affine(bn)
    if any(s == 0.0 for s in a):
        raise ValueError(f"layer '{bn.name}': a gamma of 0 cannot be unfolded from "
                         f"'{layer.name}' (its kernel lost that channel)")
    shape = layer.weights[0][1]
    units = shape[-1]
    out = {name: array("f", values) for name, _, values in bn.weights}
    if side == "producer":
        out[layer.weights[0][0]] = array("f", (k / a[i % units] for i, k in enumerate(kernel)))
        if len(layer.weights) > 1:
            out[layer.weights[1][0]] = array("f", ((c - t) / s for c, s, t in zip(bias, a, b)))
            return out
        beta = next((name for name, _, _ in bn.weights if name.endswith("/beta")), None)
        if beta is None:
            raise ValueError(f"layer '{layer.name}' has no bias and '{bn.name}' no beta: "
                             "nowhere to keep a trained bias")
        mean = list(next(v for n, _, v in bn.weights if n.endswith("/moving_mean")))
        out[beta] = array("f", (c + m * s for c, m, s in zip(bias, mean, a)))
        return out
    rows = shape[0]
    unfolded = [k / a[i // units] for i, k in enumerate(kernel)]
    out[layer.weights[0][0]] = array("f", unfolded)
    if len(layer.weights) < 2:
        raise ValueError(f"layer '{layer.name}' has no bias to keep what '{bn.name}' "
                         "folded into it")
    out[layer.weights[1][0]] = array("f", (
        bias[j] - sum(b[i] * unfolded[i * units + j] for i in range(rows))
        for j in range(units)))
    return out


def _fold(layers: list[LayerSpec]) -> list[LayerSpec]:
    out: list[LayerSpec] = []
    pending: LayerSpec | None = None  # a BN waiting for the Dense after it
    for spec in layers:
        if pending is not None:
            if spec.class_name == "Dense" and len(spec.input_shape) == 1:
                out.append(fold_into_consumer(pending, spec))
                pending = None
                continue
            out.append(pending)
            pending = None
        if spec.class_name != "BatchNormalization":
            out.append(spec)
        elif _foldable_producer(out[-1] if out else None):
            out[-1] = fold_into_producer(out[-1], spec)
        else:
            pending = spec
    if pending is not None:
        out.append(pending)
    return out
