"""The layer table: every Keras layer class we read, run and train, one entry each.

Adding a layer is one entry here (a module beside this one: config reader, op, forward,
backward, parity cases), one numpy reference in model_export, one GLSL builder in ops/.
"""

from __future__ import annotations

from webgl_backend.layers.activations import ACTIVATION, LEAKY_RELU
from webgl_backend.layers.batch_norm import BATCH_NORMALIZATION
from webgl_backend.layers.conv2d import CONV2D
from webgl_backend.layers.dense import DENSE
from webgl_backend.layers.entry import LayerEntry
from webgl_backend.layers.global_pooling import GLOBAL_AVERAGE_POOLING_2D, GLOBAL_MAX_POOLING_2D
from webgl_backend.layers.keras_activations import ELU, RELU, SOFTMAX
from webgl_backend.layers.pooling import AVERAGE_POOLING_2D, MAX_POOLING_2D
from webgl_backend.layers.structure import (
    DROPOUT,
    FLATTEN,
    INPUT_LAYER,
    RESHAPE,
    ZERO_PADDING_2D,
)

LAYERS: dict[str, LayerEntry] = {entry.class_name: entry for entry in (
    INPUT_LAYER, DENSE, CONV2D, MAX_POOLING_2D, AVERAGE_POOLING_2D, FLATTEN, DROPOUT,
    ACTIVATION, LEAKY_RELU, BATCH_NORMALIZATION, GLOBAL_AVERAGE_POOLING_2D,
    GLOBAL_MAX_POOLING_2D, RELU, ELU, SOFTMAX, ZERO_PADDING_2D, RESHAPE,
)}
LAYER_CLASSES = tuple(LAYERS)
