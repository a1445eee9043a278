"""Fine-tuning a model whose BatchNormalization layers were folded at load
(`forward_plan.fold_batch_norms`): the trainer trains the folded kernel and bias with the
moving statistics (and gamma) frozen, and export turns them back into the file's layers:
kernel = folded kernel / a; the bias change goes to the producer's bias
(bias = (folded bias - b) / a) or, when it has none, to BatchNormalization's beta.
"""

from __future__ import annotations

from array import array

from webgl_backend.forward_plan import PRODUCERS, fold_batch_norms
from webgl_backend.layers.batch_norm import batch_norm_affine
from webgl_backend.model_format import LayerSpec

Folds = dict[str, tuple[str, LayerSpec, LayerSpec]]  # folded name -> (side, dense/conv, bn)


def fold_plan(layers: list[LayerSpec]) -> tuple[list[LayerSpec], Folds]:
    """(folded layers, which original pair each folded spec came from)."""
    out, folds = fold_batch_norms(layers), {}
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
