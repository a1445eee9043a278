"""The model's layers as a fine-tuning step draws them: every BatchNormalization unfolded.

Predictions draw a BatchNormalization folded into the Dense/Conv2D next to it (no pass of
its own: the fast path), or as `channel_affine` with a and b precomputed where it cannot
be folded. Fine-tuning trains what Keras trains when it fine-tunes: kernels and biases,
and gamma and beta with the moving statistics frozen (inference-mode normalisation). So
the step draws those layers apart: the Dense/Conv2D with its file's kernel and bias, and
the BatchNormalization as `batch_norm.training_op`, whose backward gives dgamma, dbeta
and dx. After the updates, `refold.refold_draws` recompute what the predictions draw;
folding stays because predictions outnumber steps (live classification while drawing).
Every other op is the model's own: its weights train in place.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import Callable

from webgl_backend.context import GLContext
from webgl_backend.errors import TrainingError
from webgl_backend.forward_plan import PRODUCERS, fold_batch_norms
from webgl_backend.layers import LAYERS, LayerOp
from webgl_backend.layers.batch_norm import batch_norm_affine, training_op
from webgl_backend.model_format import LayerSpec
from webgl_backend.tensor import GpuTensor
from webgl_backend.training.parameters import Draw
from webgl_backend.training.refold import BatchNormGroup, refold_draws


@dataclass
class TrainingWeight:
    """One weight of the file as the step trains it: full name, tensor, loaded values;
    `decay`: L2 applies (kernels only, as in Keras)."""

    name: str
    tensor: GpuTensor
    values: array
    decay: bool


@dataclass
class UnfoldedOp:
    """One op of the model and the ops the step draws in its place (itself, or the
    layers a BatchNormalization was folded with)."""

    ops: list[LayerOp]
    weights: list[TrainingWeight] = field(default_factory=list)
    frozen: dict[str, array] = field(default_factory=dict)  # moving statistics, as loaded
    group: BatchNormGroup | None = None
    owned: list[GpuTensor] = field(default_factory=list)
    # Tensors computed from the weights (a and b, a folded kernel and bias): loaded values.
    derived: list[tuple[GpuTensor, array]] = field(default_factory=list)


def _weights(spec: LayerSpec, tensors: list[GpuTensor]) -> list[TrainingWeight]:
    """A Dense/Conv2D's weights: the kernel (first) decays, the bias does not."""
    return [TrainingWeight(name, tensor, array("f", values), position == 0)
            for position, ((name, _, values), tensor) in enumerate(zip(spec.weights, tensors))]


def _batch_norm_weights(spec: LayerSpec, bn: LayerOp) -> tuple[list, dict]:
    """(gamma/beta as TrainingWeights, moving statistics by name) of a training_op."""
    statistics = bn.attrs["statistics"]
    by_short = {"gamma": statistics.gamma, "beta": statistics.beta}
    trained, frozen = [], {}
    for name, _, values in spec.weights:
        tensor = by_short.get(name.rsplit("/", 1)[-1])
        if tensor is None:
            frozen[name] = array("f", values)
        else:
            trained.append(TrainingWeight(name, tensor, array("f", values), False))
    return trained, frozen


class UnfoldedLayers:
    """The step's ops for a model's ops (see the module docstring); owns what it uploads."""

    def __init__(self, context: GLContext, model_ops: list[LayerOp],
                 layers: list[LayerSpec]) -> None:
        self.context = context
        self._by_name = {spec.name: spec for spec in layers}
        # A folded spec is named after the pair it came from ("conv2d+batch_normalization").
        self._pairs = {f"{a.name}+{b.name}": (a, b) for a, b in zip(layers, layers[1:])
                       if "BatchNormalization" in (a.class_name, b.class_name)}
        folded = [spec for spec in fold_batch_norms(layers) if spec.weights]
        weighted = [op for op in model_ops if op.weights]
        if len(folded) != len(weighted):
            raise TrainingError(f"fine-tuning: {len(weighted)} GPU ops hold weights but the "
                                f"model has {len(folded)} layers with weights")
        specs = iter(folded)
        self.unfolded: list[UnfoldedOp] = []
        try:
            for op in model_ops:
                self.unfolded.append(self._unfold(op, next(specs)) if op.weights
                                     else UnfoldedOp([op]))
        except Exception:
            self.dispose()
            raise

    # -- building ----------------------------------------------------------------------

    def _unfold(self, op: LayerOp, spec: LayerSpec) -> UnfoldedOp:
        if spec.class_name == "BatchNormalization":  # drawn alone: shares a and b
            bn = training_op(self.context, spec, op.weights)
            weights, frozen = _batch_norm_weights(spec, bn)
            return UnfoldedOp([bn], weights, frozen, BatchNormGroup("alone", bn, None, op),
                              bn.attrs["statistics"].tensors(),
                              list(zip(bn.weights, _affine_values(spec))))
        pair = self._pairs.get(spec.name)
        if pair is None or spec.class_name not in PRODUCERS:
            return UnfoldedOp([op], _weights(spec, op.weights))
        first, second = pair
        side = "producer" if second.class_name == "BatchNormalization" else "consumer"
        layer_spec, bn_spec = (first, second) if side == "producer" else (second, first)
        bn = training_op(self.context, bn_spec)
        layer = LAYERS[layer_spec.class_name].to_op(self.context, layer_spec)
        owned = bn.attrs["statistics"].tensors() + bn.weights + layer.weights
        if side == "consumer":  # the Dense keeps what was fused into the folded one
            layer.attrs, layer.layer_name = dict(op.attrs), op.layer_name[len(first.name) + 1:]
            ops = [bn, layer]
        else:
            ops = [layer, bn] + self._fused_activation(op.layer_name[len(spec.name) + 1:])
        weights, frozen = _batch_norm_weights(bn_spec, bn)
        weights += _weights(layer_spec, layer.weights)
        derived = list(zip(bn.weights, _affine_values(bn_spec)))
        derived += [(tensor, array("f", values))
                    for tensor, (_, _, values) in zip(op.weights, spec.weights)]
        return UnfoldedOp(ops, weights, frozen, BatchNormGroup(side, bn, layer, op), owned,
                          derived)

    def _fused_activation(self, name: str) -> list[LayerOp]:
        """The activation layer fused after a folded pair (named `name`), as its own op."""
        if not name:
            return []
        spec = self._by_name[name]
        op = LAYERS[spec.class_name].to_op(self.context, spec)
        return [] if op is None else [op]

    # -- what the fine-tuner reads ---------------------------------------------------------

    @property
    def ops(self) -> list[LayerOp]:
        return [op for unfolded in self.unfolded for op in unfolded.ops]

    def first_op(self, model_index: int) -> int:
        """Index in `ops` of the first op drawn for the model's op `model_index`."""
        return sum(len(unfolded.ops) for unfolded in self.unfolded[:model_index])

    def trainable(self, model_index: int) -> list[TrainingWeight]:
        return self.unfolded[model_index].weights

    def refold_draws(self, is_trained: Callable[[GpuTensor], bool],
                     updated: Callable[[GpuTensor], GpuTensor]) -> list[Draw]:
        """The refolding passes of every BatchNormalization with a trained weight."""
        draws = []
        for unfolded in self.unfolded:
            group = unfolded.group
            if group is not None and any(map(is_trained, group.trained_tensors())):
                draws.extend(refold_draws(self.context, group, updated))
        return draws

    def reset(self) -> None:
        """Every weight, and what predictions draw, back to its loaded value."""
        for unfolded in self.unfolded:
            for weight in unfolded.weights:
                weight.tensor.upload(weight.values)
            for tensor, values in unfolded.derived:
                tensor.upload(values)

    def export_weights(self) -> dict[str, array]:
        """Every weight of the file by full name: trained ones read back, moving statistics
        as loaded."""
        weights: dict[str, array] = {}
        for unfolded in self.unfolded:
            weights.update((w.name, w.tensor.read()) for w in unfolded.weights)
            weights.update(unfolded.frozen)
        return weights

    def dispose(self) -> None:
        for unfolded in self.unfolded:
            for tensor in unfolded.owned:
                tensor.dispose()
        self.unfolded = []


def _affine_values(spec: LayerSpec) -> list[array]:
    return [array("f", values) for values in batch_norm_affine(spec)]
