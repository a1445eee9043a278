"""Load an exported TF.js layers folder back into a numpy `Sequential`, through our reader.

The reader (`webgl_backend.model_format`) does every check; this module only turns its
validated layer specs into `Sequential.from_config` input and sets the weights.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model_export.model import Sequential
from model_export.nn.init import get_initializer
from webgl_backend.model_format import ModelArtifacts, read_model_dir


def load_exported(path: str | Path, seed: int = 0) -> Sequential:
    """Sequential with the folder's topology and exactly its (dequantized) float32 weights."""
    return sequential_from_artifacts(read_model_dir(Path(path)), seed=seed)


def sequential_from_artifacts(artifacts: ModelArtifacts, seed: int = 0) -> Sequential:
    """Build the numpy model; a leading InputLayer becomes the first layer's batch_input_shape."""
    specs = [spec for spec in artifacts.layers if spec.class_name != "InputLayer"]
    layers = []
    for index, spec in enumerate(specs):
        config = {key: value for key, value in spec.config.items()
                  if key != "batch_input_shape" and _buildable(key, value)}
        if index == 0:
            config = {"batch_input_shape": [None, *artifacts.input_shape], **config}
        layers.append({"class_name": spec.class_name, "config": config})
    model = Sequential.from_config({"name": artifacts.name, "layers": layers}, seed=seed)
    model.set_weights([np.frombuffer(values, dtype=np.float32).reshape(shape)
                       for spec in specs for _, shape, values in spec.weights])
    return model


def _buildable(key: str, value) -> bool:
    """False for an initializer our numpy layers lack (e.g. TF.js's VarianceScaling).

    Initializers only matter before weights exist; these weights come from the file, so
    such a key is dropped and the layer's default initializer stands in.
    """
    if key not in ("kernel_initializer", "bias_initializer") or value is None:
        return True
    try:
        get_initializer(value)
    except ValueError:
        return False
    return True
