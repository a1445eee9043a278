"""A model's topology (what running it needs) and the first difference between two.

An upload must have its base's topology: layer classes, names, configs (less the settings
that only matter when training from scratch), output shapes and weight names and shapes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from webgl_backend.model_format import ModelArtifacts

# Settings that only matter while training from scratch; a fine-tuned copy may drop or change them.
TRAINING_ONLY_KEYS = frozenset({"trainable", "kernel_initializer", "bias_initializer",
                                "kernel_regularizer", "bias_regularizer", "activity_regularizer",
                                "kernel_constraint", "bias_constraint"})

Weights = tuple[tuple[str, tuple[int, ...]], ...]


@dataclass(frozen=True)
class LayerTopology:
    """One layer as far as running it goes: class, name, config, shapes, weight shapes."""

    class_name: str
    name: str
    config: dict
    output_shape: tuple[int, ...]
    weights: Weights


@dataclass(frozen=True)
class Topology:
    input_shape: tuple[int, ...]
    layers: tuple[LayerTopology, ...]

    def weights(self) -> Weights:
        """Every weight (name, shape) in manifest order."""
        return tuple(weight for layer in self.layers for weight in layer.weights)


def topology_of(artifacts: ModelArtifacts) -> Topology:
    layers = tuple(
        LayerTopology(layer.class_name, layer.name,
                      {k: v for k, v in layer.config.items() if k not in TRAINING_ONLY_KEYS},
                      tuple(layer.output_shape),
                      tuple((name, tuple(shape)) for name, shape, _ in layer.weights))
        for layer in artifacts.layers)
    return Topology(tuple(artifacts.input_shape), layers)


def topology_difference(model: Topology, base: Topology) -> str | None:
    """The first difference between two topologies as a phrase, or None when they match."""
    if model.input_shape != base.input_shape:
        return f"input shape {list(model.input_shape)}, the base has {list(base.input_shape)}"
    for index, (layer, expected) in enumerate(zip(model.layers, base.layers)):
        where = f"layers[{index}] '{layer.name}'"
        if (layer.class_name, layer.name) != (expected.class_name, expected.name):
            return (f"layers[{index}] is {layer.class_name} '{layer.name}', the base has "
                    f"{expected.class_name} '{expected.name}'")
        for key in sorted(layer.config.keys() | expected.config.keys()):
            got, want = layer.config.get(key), expected.config.get(key)
            if got != want:
                return (f"{where}: config '{key}' is {json.dumps(got)}, "
                        f"the base has {json.dumps(want)}")
        if layer.weights != expected.weights:
            return (f"{where}: weights {weights_text(layer.weights)}, the base has "
                    f"{weights_text(expected.weights)}")
    if len(model.layers) != len(base.layers):
        return f"{len(model.layers)} layers, the base has {len(base.layers)}"
    return None


def weights_text(weights: Weights) -> str:
    return ", ".join(f"{name} {list(shape)}" for name, shape in weights) or "none"
