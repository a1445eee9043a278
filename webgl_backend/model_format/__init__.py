"""Read a TensorFlow.js layers model (`model.json` + weight shards) and validate all of it.

Standard library only: the same package runs in CPython and, unchanged, in Pyodide, where
the page fetches the files itself (`shard_paths`) and hands the bytes to `read_model`.

What is accepted is what our exporter, TF.js's own `model.save()` and the official converter
(Keras 2 / tf-keras models) write: either topology wrapper, a `Sequential` or a single-chain
`Functional`/`Model` of Dense, Conv2D, MaxPooling2D, AveragePooling2D, Flatten, Dropout,
Activation, LeakyReLU, BatchNormalization, GlobalAveragePooling2D, GlobalMaxPooling2D, ReLU,
Softmax, ELU, ZeroPadding2D, Reshape (and a leading InputLayer), NHWC, with float32 weights
stored as float32, float16 or affine uint8 (`quantization: {"dtype": "uint8", "min": m,
"scale": s}`, value = q * scale + min), as tfjs-converter's `write_weights.py` writes them,
matched to layers by name in whatever order the manifest lists them. Config keys that do not
change the computation are ignored; one that would, with a value we do not run, is refused
naming the layer, the key and the value.

Everything is checked before anything is returned, so a bad file loads nothing: fields,
layer classes and activations, each layer's output shape chained from the input shape,
every weight's name, order and shape against the topology, shard lengths, byte totals,
and finiteness of every weight value. Each error is a `ModelFormatError` naming the file,
the field and what was expected, e.g.
`model.json: layers[2] 'conv2d_1': weight 'conv2d_1/kernel' needs 288 floats, shards hold 256`.

Layouts are Keras's: Dense kernel (in, units), Conv2D kernel (kh, kw, cin, filters),
activations NHWC, Flatten in NHWC order.

Modules, in the order a file flows through them: `json_text` (bytes -> dict; sizes in
`limits`), `document` (top-level fields), `graph` (the topology wrappers, a Functional graph
reduced to its chain), `topology` (layers, shapes chained; each class's config is read by
its entry of the layer table, `webgl_backend.layers`), `manifest` (weight entries matched
to the topology), `quantization` (stored dtypes), `shards` (bytes -> checked values),
`reader` (`read_model`), `folder` (`read_model_dir`); the results are `artifacts`.
"""

from webgl_backend.model_format.artifacts import LayerSpec, ModelArtifacts, WeightEntry
from webgl_backend.model_format.document import (
    FORMAT,
    OPTIONAL_FIELDS,
    REQUIRED_FIELDS,
    parse_model_json,
    shard_paths,
)
from webgl_backend.model_format.folder import read_model_dir
from webgl_backend.layers.configs import ACTIVATIONS, LEAKY_RELU_DEFAULT_ALPHA, PADDINGS
from webgl_backend.layers.table import LAYER_CLASSES
from webgl_backend.model_format.limits import (
    MAX_ACTIVATION_FLOATS,
    MAX_INPUT_RANK,
    MAX_LAYERS,
    MAX_MODEL_JSON_BYTES,
    MAX_NAME_LENGTH,
    MAX_SHARDS,
    MAX_WEIGHT_FLOATS,
    MAX_WEIGHT_RANK,
)
from webgl_backend.model_format.manifest import SHARD_NAME
from webgl_backend.model_format.quantization import QUANTIZATION_BYTES
from webgl_backend.model_format.reader import read_model
from webgl_backend.model_format.topology import TOPOLOGY_OPTIONAL, TOPOLOGY_REQUIRED

__all__ = [
    "ACTIVATIONS", "FORMAT", "LAYER_CLASSES", "LEAKY_RELU_DEFAULT_ALPHA", "MAX_ACTIVATION_FLOATS",
    "MAX_INPUT_RANK", "MAX_LAYERS", "MAX_MODEL_JSON_BYTES", "MAX_NAME_LENGTH", "MAX_SHARDS",
    "MAX_WEIGHT_FLOATS", "MAX_WEIGHT_RANK", "OPTIONAL_FIELDS", "PADDINGS", "QUANTIZATION_BYTES",
    "REQUIRED_FIELDS", "SHARD_NAME", "TOPOLOGY_OPTIONAL", "TOPOLOGY_REQUIRED", "LayerSpec",
    "ModelArtifacts", "WeightEntry", "parse_model_json", "read_model", "read_model_dir",
    "shard_paths",
]
