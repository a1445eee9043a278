"""The numpy class of every layer-table entry, and layers rebuilt from their configs."""

from __future__ import annotations

# The modules that define the layer classes, so that every subclass of Layer exists here.
from model_export.layers import (  # noqa: F401
    activations,
    conv,
    dense,
    normalization,
    pooling,
    structure,
)
from model_export.layers.base import Layer, LayerConfigError
from webgl_backend.layers import LAYER_CLASSES as TABLE_CLASSES


def _subclasses(cls: type) -> list[type]:
    return [sub for direct in cls.__subclasses__() for sub in [direct, *_subclasses(direct)]]


def _numpy_layer_classes() -> dict[str, type[Layer]]:
    """The numpy class of every layer-table entry (InputLayer is Sequential's input shape)."""
    classes = {cls.__name__: cls for cls in _subclasses(Layer)}
    missing = [name for name in TABLE_CLASSES if name != "InputLayer" and name not in classes]
    if missing:
        raise ImportError(f"model_export.layers: no numpy layer for {', '.join(missing)} "
                          "(every class of webgl_backend.layers.LAYERS needs one)")
    return {name: classes[name] for name in TABLE_CLASSES if name != "InputLayer"}


LAYER_CLASSES: dict[str, type[Layer]] = _numpy_layer_classes()


def layer_from_config(spec: dict) -> Layer:
    """Rebuild a layer from {"class_name": ..., "config": {...}} (TF.js layers format)."""
    if not isinstance(spec, dict) or "class_name" not in spec:
        raise LayerConfigError(
            f"Layer spec must be a dict with 'class_name' and 'config'; got {spec!r}"
        )
    class_name = spec["class_name"]
    if class_name not in LAYER_CLASSES:
        raise LayerConfigError(
            f"Unknown layer class {class_name!r}. "
            f"Expected one of: {', '.join(sorted(LAYER_CLASSES))}."
        )
    return LAYER_CLASSES[class_name].from_config(spec.get("config", {}))
