"""Weight initializers, following Keras's variance-scaling rules.

Every initializer is a function `(shape, rng) -> np.ndarray` of dtype float32.
Fans follow Keras (`keras/src/initializers/random_initializers.py`, `compute_fans`):
a Dense kernel `(in, out)` has fan_in = in, fan_out = out; a conv kernel
`(kh, kw, cin, cout)` has fan_in = kh*kw*cin, fan_out = kh*kw*cout.

Keras's VarianceScaling, which all four random initializers are instances of:
- scale is divided by max(1, fan), where fan is fan_in (He) or the mean of
  fan_in and fan_out (Glorot);
- uniform: limit = sqrt(3 * scale), so Glorot's limit is sqrt(6 / (fan_in + fan_out));
- truncated normal: stddev = sqrt(scale) / 0.87962566103423978, drawn from a
  normal truncated at two standard deviations. The constant is the standard
  deviation of a unit normal truncated to [-2, 2], so the samples' actual
  standard deviation is sqrt(scale).
"""

from collections.abc import Callable

import numpy as np

Initializer = Callable[[tuple, np.random.Generator], np.ndarray]

# Standard deviation of a unit normal truncated to [-2, 2] (Keras's constant).
TRUNCATED_NORMAL_STD = 0.87962566103423978


def compute_fans(shape: tuple) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of `shape`, as Keras computes them.

    () -> (1, 1); (n,) -> (n, n); (in, out) -> (in, out);
    (*window, cin, cout) -> (prod(window) * cin, prod(window) * cout).
    """
    shape = tuple(int(d) for d in shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = 1
    for dim in shape[:-2]:
        receptive_field *= dim
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def _truncated_normal(shape: tuple, stddev: float, rng: np.random.Generator) -> np.ndarray:
    """Normal(0, stddev) samples, redrawn until all lie within 2 standard deviations."""
    values = rng.standard_normal(shape)
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2.0
    return (values * stddev).astype(np.float32)


def _uniform(shape: tuple, limit: float, rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(-limit, limit, size=shape).astype(np.float32)


def _glorot_scale(shape: tuple) -> float:
    fan_in, fan_out = compute_fans(shape)
    return 1.0 / max(1.0, (fan_in + fan_out) / 2.0)


def _he_scale(shape: tuple) -> float:
    fan_in, _ = compute_fans(shape)
    return 2.0 / max(1.0, float(fan_in))


def glorot_uniform(shape: tuple, rng: np.random.Generator) -> np.ndarray:
    """Uniform in [-limit, limit], limit = sqrt(6 / (fan_in + fan_out)). float32, `shape`."""
    return _uniform(shape, float(np.sqrt(3.0 * _glorot_scale(shape))), rng)


def glorot_normal(shape: tuple, rng: np.random.Generator) -> np.ndarray:
    """Truncated normal, stddev = sqrt(2 / (fan_in + fan_out)) / 0.8796... float32, `shape`."""
    stddev = float(np.sqrt(_glorot_scale(shape))) / TRUNCATED_NORMAL_STD
    return _truncated_normal(shape, stddev, rng)


def he_uniform(shape: tuple, rng: np.random.Generator) -> np.ndarray:
    """Uniform in [-limit, limit], limit = sqrt(6 / fan_in). float32, `shape`."""
    return _uniform(shape, float(np.sqrt(3.0 * _he_scale(shape))), rng)


def he_normal(shape: tuple, rng: np.random.Generator) -> np.ndarray:
    """Truncated normal, stddev = sqrt(2 / fan_in) / 0.8796... float32, `shape`."""
    stddev = float(np.sqrt(_he_scale(shape))) / TRUNCATED_NORMAL_STD
    return _truncated_normal(shape, stddev, rng)


def zeros(shape: tuple, rng: np.random.Generator | None = None) -> np.ndarray:
    """All zeros, float32, `shape` (`rng` is accepted for a uniform signature)."""
    return np.zeros(shape, dtype=np.float32)


def ones(shape: tuple, rng: np.random.Generator | None = None) -> np.ndarray:
    """All ones, float32, `shape` (`rng` is accepted for a uniform signature)."""
    return np.ones(shape, dtype=np.float32)


# snake_case name -> (function, Keras class name)
_INITIALIZERS: dict[str, tuple[Initializer, str]] = {
    "glorot_uniform": (glorot_uniform, "GlorotUniform"),
    "glorot_normal": (glorot_normal, "GlorotNormal"),
    "he_uniform": (he_uniform, "HeUniform"),
    "he_normal": (he_normal, "HeNormal"),
    "zeros": (zeros, "Zeros"),
    "ones": (ones, "Ones"),
}
_BY_CLASS_NAME = {class_name: name for name, (_, class_name) in _INITIALIZERS.items()}
_RANDOM = {"glorot_uniform", "glorot_normal", "he_uniform", "he_normal"}


def _valid_names() -> str:
    names = sorted(_INITIALIZERS) + sorted(_BY_CLASS_NAME)
    return ", ".join(names)


def _resolve_name(spec: object) -> str:
    """The snake_case name for a string, a Keras dict or one of this module's functions."""
    if isinstance(spec, str):
        name = spec if spec in _INITIALIZERS else _BY_CLASS_NAME.get(spec)
    elif isinstance(spec, dict):
        if "class_name" not in spec:
            raise ValueError(
                f"Invalid initializer dict {spec!r}: expected a 'class_name' key "
                f"(one of {', '.join(sorted(_BY_CLASS_NAME))})."
            )
        name = _BY_CLASS_NAME.get(spec["class_name"])
        spec = spec["class_name"]
    else:
        name = next((n for n, (fn, _) in _INITIALIZERS.items() if fn is spec), None)
    if name is None:
        raise ValueError(f"Unknown initializer {spec!r}. Expected one of: {_valid_names()}.")
    return name


def get_initializer(spec: str | dict | Initializer) -> Initializer:
    """The initializer function for "glorot_uniform", "GlorotUniform",
    {"class_name": "GlorotUniform", "config": {"seed": None}}, or the function itself.

    The Keras dict's seed is ignored: randomness comes from the `rng` passed at call time.
    """
    return _INITIALIZERS[_resolve_name(spec)][0]


def initializer_config(spec: str | dict | Initializer) -> dict:
    """The Keras/TF.js dict for an initializer, e.g.
    {"class_name": "GlorotUniform", "config": {"seed": None}} or {"class_name": "Zeros", "config": {}}."""
    name = _resolve_name(spec)
    config = {"seed": None} if name in _RANDOM else {}
    return {"class_name": _INITIALIZERS[name][1], "config": config}
