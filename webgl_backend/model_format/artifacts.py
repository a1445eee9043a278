"""What the reader returns: a fully validated model's layers and decoded weights."""

from __future__ import annotations

import array
from dataclasses import dataclass, field

@dataclass(frozen=True)
class WeightEntry:
    """One `weightsManifest` entry: full name ("conv2d/kernel"), shape, stored dtype."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    quantization: dict | None


@dataclass
class LayerSpec:
    """One layer, ready to build: `config` has every default filled in (see `read_model`).

    `weights` are (full name, shape, float32 values) in Keras order (kernel, bias), values
    dequantized and flat in row-major order of `shape`. Shapes exclude the batch axis.
    """

    class_name: str
    name: str
    config: dict
    weights: list[tuple[str, tuple[int, ...], array.array]]
    input_shape: tuple[int, ...] = ()
    output_shape: tuple[int, ...] = ()


@dataclass
class ModelArtifacts:
    """A fully validated model: input shape (no batch axis), layers, and the parsed JSON.

    `name` is the model's own (Sequential or Functional config name), whichever topology
    layout the file used."""

    input_shape: tuple[int, ...]
    layers: list[LayerSpec]
    model_json: dict
    weight_entries: list[WeightEntry] = field(default_factory=list)
    name: str = ""
