"""Keras-like layers over the numpy ops in `model_export.nn`, one module per family:
`base` (lifecycle, argument checks), `dense`, `conv`, `pooling` (windows and global),
`normalization` (BatchNormalization), `structure` (Flatten, Dropout, ZeroPadding2D,
Reshape), `activations` (Activation, LeakyReLU, ReLU, ELU, Softmax), `registry` (the
class of each layer-table entry).

Each layer follows the Keras lifecycle: `__init__` validates hyperparameters,
`build(input_shape, rng)` creates float32 weights once the input shape (without
batch) is known, `forward` caches what `backward` needs, and `get_config` returns
exactly the Keras/TF.js config keys so export is a plain dump.

Trainer hooks beyond Keras:
- `forward(x, activate=False)` returns the pre-activation output and
  `backward(dy, activated=False)` takes dy wrt it (loss from logits).
- `input_gradient_needed = False` lets a model skip dx for the layers up to its first
  with weights (Conv2D then skips the costliest part of its backward, Dense a GEMM).
"""

from model_export.layers.activations import ELU, Activation, LeakyReLU, ReLU, Softmax
from model_export.layers.base import Layer, LayerConfigError, LayerShapeError
from model_export.layers.conv import Conv2D
from model_export.layers.dense import Dense
from model_export.layers.normalization import BatchNormalization
from model_export.layers.pooling import (
    AveragePooling2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPooling2D,
)
from model_export.layers.registry import LAYER_CLASSES, layer_from_config
from model_export.layers.structure import Dropout, Flatten, Reshape, ZeroPadding2D

__all__ = ["ELU", "LAYER_CLASSES", "Activation", "AveragePooling2D", "BatchNormalization",
           "Conv2D", "Dense", "Dropout", "Flatten", "GlobalAveragePooling2D",
           "GlobalMaxPooling2D", "Layer", "LayerConfigError", "LayerShapeError", "LeakyReLU",
           "MaxPooling2D", "ReLU", "Reshape", "Softmax", "ZeroPadding2D", "layer_from_config"]
