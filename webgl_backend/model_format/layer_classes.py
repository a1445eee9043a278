"""Every layer class the reader accepts: `layer_configs`'s and `keras_layer_configs`'s.

Keys every layer may carry that never change what it computes (Keras 3's serialization
keys, InputLayer's `optional`) are in `IGNORED_KEYS`.
"""

from __future__ import annotations

from webgl_backend.model_format.keras_layer_configs import (
    BATCH_NORM_IGNORED,
    KERAS_CLASS_KEYS,
    KERAS_CONFIG_READERS,
)
from webgl_backend.model_format.layer_configs import (
    PARAMETER_KEYS,
    CLASS_KEYS as _BASE_CLASS_KEYS,
    CONFIG_READERS as _BASE_CONFIG_READERS,
    LAYER_CLASSES as _BASE_LAYER_CLASSES,
)

IGNORED_KEYS = frozenset({"module", "registered_name", "build_config", "optional", "autocast",
                          "input_dtype"})
# Read by topology as batch_input_shape.
INPUT_SHAPE_KEYS = frozenset({"batch_shape", "input_shape"})
CONFIG_READERS = {**_BASE_CONFIG_READERS, **KERAS_CONFIG_READERS}
# What each class reads or knows to ignore; messages list READ_KEYS, the keys that matter.
CLASS_KEYS = {name: keys | IGNORED_KEYS | INPUT_SHAPE_KEYS
              for name, keys in {**_BASE_CLASS_KEYS, **KERAS_CLASS_KEYS}.items()}
READ_KEYS = {name: keys - PARAMETER_KEYS - BATCH_NORM_IGNORED - {"batch_input_shape"}
             for name, keys in {**_BASE_CLASS_KEYS, **KERAS_CLASS_KEYS}.items()}
LAYER_CLASSES = _BASE_LAYER_CLASSES + tuple(KERAS_CONFIG_READERS)
