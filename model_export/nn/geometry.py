"""Output sizes and `same` padding for sliding-window ops (conv2d and pooling).

One rule for everyone, following TF (tfjs-core `conv_util.ts`):
- `valid`: out = floor((in - k) / stride) + 1, no padding.
- `same`:  out = ceil(in / stride); total pad = max((out - 1) * stride + k - in, 0),
  split with the extra row/column at the bottom/right (pad_before = total // 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

PADDINGS = ("valid", "same")


class GeometryError(ValueError):
    """A window/stride/padding combination that gives no output."""


@dataclass(frozen=True)
class Axis:
    """Geometry along one spatial axis: output size and padding before/after."""

    out: int
    pad_before: int
    pad_after: int


@dataclass(frozen=True)
class Geometry2D:
    """Geometry of a 2-D window op over NHWC input: (h, w) -> (oh, ow) with pads."""

    oh: int
    ow: int
    pad_top: int
    pad_bottom: int
    pad_left: int
    pad_right: int

    @property
    def is_padded(self) -> bool:
        return bool(self.pad_top or self.pad_bottom or self.pad_left or self.pad_right)


@lru_cache(maxsize=256)  # asked twice per conv layer and training step, with few distinct shapes
def window_axis(in_size: int, k: int, stride: int, padding: str) -> Axis:
    """Output size and pads along one axis of length `in_size`, window `k`, step `stride`."""
    if padding not in PADDINGS:
        raise GeometryError(f"Unknown padding {padding!r}. Expected one of: same, valid.")
    if k < 1 or stride < 1 or in_size < 1:
        raise GeometryError(
            f"Window geometry needs positive sizes; got in={in_size}, k={k}, stride={stride}."
        )
    if padding == "valid":
        if k > in_size:
            raise GeometryError(
                f"Window of size {k} does not fit an input of size {in_size} with padding='valid'."
            )
        return Axis((in_size - k) // stride + 1, 0, 0)
    out = -(-in_size // stride)
    total = max((out - 1) * stride + k - in_size, 0)
    return Axis(out, total // 2, total - total // 2)


def window_geometry(
    input_hw: tuple[int, int],
    window_hw: tuple[int, int],
    strides: tuple[int, int],
    padding: str,
) -> Geometry2D:
    """2-D geometry for an input (h, w), window (kh, kw), strides (sh, sw), padding."""
    rows = window_axis(input_hw[0], window_hw[0], strides[0], padding)
    cols = window_axis(input_hw[1], window_hw[1], strides[1], padding)
    return Geometry2D(rows.out, cols.out, rows.pad_before, rows.pad_after,
                      cols.pad_before, cols.pad_after)
