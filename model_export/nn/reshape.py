"""reshape: each sample's values in row-major (NHWC) order under a new shape.

Keras's Reshape and Flatten keep that order, so a reshape is free on the host; `-1` in the
target stands for the one dimension that makes the sizes agree.
"""

from __future__ import annotations

import math

import numpy as np


class ReshapeError(ValueError):
    """A target shape whose size does not match the input's."""


def resolve_target(sample_shape: tuple, target: tuple) -> tuple:
    """The target with any -1 filled in; refuses a size mismatch, naming both shapes."""
    size = math.prod(sample_shape)
    unknown = [i for i, d in enumerate(target) if d == -1]
    if len(unknown) > 1 or any(d == 0 or d < -1 for d in target):
        raise ReshapeError(f"reshape: target_shape {tuple(target)} may hold one -1 and "
                           "otherwise positive sizes")
    known = math.prod(d for d in target if d != -1)
    if unknown and known and size % known == 0:
        target = tuple(size // known if d == -1 else d for d in target)
    if math.prod(target) != size or -1 in target:
        raise ReshapeError(f"reshape: cannot reshape a sample of shape {tuple(sample_shape)} "
                           f"({size} values) to {tuple(target)}")
    return tuple(int(d) for d in target)


def reshape_forward(x: np.ndarray, target: tuple) -> np.ndarray:
    """y (n, *target)."""
    return x.reshape((x.shape[0], *resolve_target(x.shape[1:], target)))


def reshape_backward(dy: np.ndarray, x_shape: tuple) -> np.ndarray:
    """dx (x_shape): the same values back in the input's shape."""
    return dy.reshape(x_shape)
