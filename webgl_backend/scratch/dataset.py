"""MNIST as the page hands it over: uint8 pixels (n * 784, 0..255, idx order) and uint8
labels, kept as bytes (checked once; the pixels go to the GPU as they are, gpu_data.py)."""

from __future__ import annotations

from array import array

from webgl_backend.host_data import as_bytes

IMAGE_PIXELS = 28 * 28
CLASSES = 10


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

    def label_values(self, indices) -> array:
        labels = self.labels
        return array("f", [labels[i] for i in indices])
