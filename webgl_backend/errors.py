"""The few named errors of the runtime, and the one phrasing of a bad argument.

Each message says what, where, expected vs got; an argument refused is phrased as Keras
phrases it (`invalid_argument`).
"""


class ShadernetError(Exception):
    """Base of every error this package raises on purpose."""


class ModelFormatError(ShadernetError, ValueError):
    """model.json or a weight shard is malformed, inconsistent or holds non-finite values."""


class ShapeError(ShadernetError, ValueError):
    """A tensor's shape does not fit the op or layer it is given to."""


class ShaderCompileError(ShadernetError, RuntimeError):
    """A generated shader failed to compile or link; carries the info log and source lines."""


class WebGL2UnavailableError(ShadernetError, RuntimeError):
    """The browser has no WebGL2, or lacks float render targets (EXT_color_buffer_float)."""


class ContextLostError(ShadernetError, RuntimeError):
    """The WebGL context was lost; textures and programs must be rebuilt."""


class TrainingError(ShadernetError, ValueError):
    """Fine-tuning asked for something this model or these arguments cannot do."""


class TrainingUnavailableError(ShadernetError, RuntimeError):
    """Fine-tuning was asked for where there is nothing to fine-tune (no model loaded)."""


def invalid_argument(function: str, argument: str, expected: str, value) -> str:
    """Keras's sentence for a refused argument: which one, what was expected, what came."""
    return (f"Invalid value for argument `{argument}` of {function}. Expected {expected}. "
            f"Received {argument}={value!r}.")
