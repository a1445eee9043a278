"""zero_padding2d: zeros around h and w of NHWC input; its backward crops the pads off."""

from __future__ import annotations

import numpy as np

Pads = tuple[tuple[int, int], tuple[int, int]]  # ((top, bottom), (left, right))


class PaddingError(ValueError):
    """Pads that are not ((top, bottom), (left, right)) non-negative ints, or a non-4-D x."""


def normalize_pads(padding) -> Pads:
    """Keras's three spellings: an int, (rows, cols), or ((top, bottom), (left, right))."""
    try:
        if isinstance(padding, (int, np.integer)):
            pads = ((padding, padding), (padding, padding))
        elif all(isinstance(p, (int, np.integer)) for p in padding):
            rows, cols = padding
            pads = ((rows, rows), (cols, cols))
        else:
            (top, bottom), (left, right) = padding
            pads = ((top, bottom), (left, right))
    except (TypeError, ValueError):
        raise PaddingError(
            f"zero_padding2d: padding must be an int, (rows, cols) or "
            f"((top, bottom), (left, right)), got {padding!r}") from None
    flat = [p for pair in pads for p in pair]
    if any(isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 0 for p in flat):
        raise PaddingError(f"zero_padding2d: pads must be non-negative integers, got {padding!r}")
    return (int(pads[0][0]), int(pads[0][1])), (int(pads[1][0]), int(pads[1][1]))


def _check(shape: tuple) -> None:
    if len(shape) != 4:
        raise PaddingError(f"zero_padding2d: x must be 4-D (n, h, w, c), got shape {shape}")


def zero_padding2d_forward(x: np.ndarray, pads: Pads) -> np.ndarray:
    """y (n, top + h + bottom, left + w + right, c)."""
    _check(x.shape)
    (top, bottom), (left, right) = pads
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))


def zero_padding2d_backward(dy: np.ndarray, pads: Pads) -> np.ndarray:
    """dx: the cells of dy that came from x."""
    _check(dy.shape)
    (top, bottom), (left, right) = pads
    h, w = dy.shape[1] - top - bottom, dy.shape[2] - left - right
    return np.ascontiguousarray(dy[:, top:top + h, left:left + w, :])
