"""The layer table (`table.LAYERS`): for each Keras layer class its config reader, GPU op,
forward and backward programs, fusion rule, numpy reference and parity cases."""

from webgl_backend.layers.entry import BackwardStep, LayerEntry, LayerOp, ParityCase
from webgl_backend.layers.table import LAYER_CLASSES, LAYERS

__all__ = ["LAYERS", "LAYER_CLASSES", "BackwardStep", "LayerEntry", "LayerOp", "ParityCase"]
