"""MNIST as the page hands it over: uint8 pixels (n * 784, 0..255, idx order) and uint8
labels, kept as bytes; a batch becomes float32 in [0, 1] in one pass at C speed (a
256-entry table mapped over the batch's bytes), never a Python loop per pixel."""

from __future__ import annotations

from array import array

from webgl_backend.host_data import as_bytes

IMAGE_PIXELS = 28 * 28
CLASSES = 10
# pixel byte -> its float32 value in [0, 1], as numpy's `x.astype(float32) / 255`.
NORMALISED = tuple(array("f", [value / 255.0 for value in range(256)]))


class DataError(ValueError):
    """Images or labels that do not fit what set_data was told."""


class MnistImages:
    """n images and their labels, as bytes."""

    def __init__(self, what: str, images, labels, n) -> None:
        if isinstance(n, float) and n.is_integer():
            n = int(n)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise DataError(f"set_data: {what}: n must be an integer >= 0, got {n!r}")
        self.pixels = as_bytes(images)
        self.labels = as_bytes(labels)
        self.n = n
        if len(self.pixels) != n * IMAGE_PIXELS or len(self.labels) != n:
            raise DataError(f"set_data: {what}: expected {n} images of 28x28 uint8 "
                            f"({n * IMAGE_PIXELS} bytes) and {n} labels, got "
                            f"{len(self.pixels)} and {len(self.labels)} bytes")
        if n and max(self.labels) >= CLASSES:
            raise DataError(f"set_data: {what}: labels must be digits 0..9, got "
                            f"{max(self.labels)}")

    def floats(self, indices) -> array:
        """The images at `indices`, flat float32 in [0, 1] (len(indices) * 784 floats)."""
        pixels = self.pixels
        chunk = b"".join(pixels[i * IMAGE_PIXELS:(i + 1) * IMAGE_PIXELS] for i in indices)
        return array("f", map(NORMALISED.__getitem__, chunk))

    def range_floats(self, start: int, stop: int) -> array:
        """Images start..stop-1, flat float32 in [0, 1]."""
        chunk = self.pixels[start * IMAGE_PIXELS:stop * IMAGE_PIXELS]
        return array("f", map(NORMALISED.__getitem__, chunk))

    def label_values(self, indices) -> array:
        labels = self.labels
        return array("f", [labels[i] for i in indices])
