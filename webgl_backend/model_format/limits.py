"""Size limits of a model: what the reader refuses before it allocates anything."""

MAX_MODEL_JSON_BYTES = 16 * 1024 * 1024
MAX_WEIGHT_FLOATS = 64 * 1024 * 1024        # all weights of a model together
MAX_ACTIVATION_FLOATS = 16 * 1024 * 1024    # one sample's input or any layer's output
MAX_LAYERS = 1024
MAX_WEIGHT_RANK = 8
MAX_INPUT_RANK = 4
MAX_SHARDS = 4096
MAX_NAME_LENGTH = 256
