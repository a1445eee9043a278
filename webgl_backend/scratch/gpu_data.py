"""MNIST on the GPU for a run: each image set uploaded once as an RGBA8 texture of its
bytes (normalised to [0, 1] by the texture unit), and the draws that gather a batch's
images from it into a plan's input tensor (ops/gather.py). A step uploads only the
batch's row indices; nothing is converted per pixel on the host."""

from __future__ import annotations

from array import array

from webgl_backend.codegen import texture_layout
from webgl_backend.context import CompiledProgram, GLContext
from webgl_backend.ops.gather import gather_images
from webgl_backend.scratch.dataset import IMAGE_PIXELS, MnistImages
from webgl_backend.tensor import GpuTensor

# Index tensors kept per batch size (training batch, evaluation chunks).
MAX_INDEX_TENSORS = 4


class GpuImages:
    """One image set (MnistImages) resident on the GPU."""

    def __init__(self, context: GLContext, images: MnistImages) -> None:
        self.context = context
        self.images = images
        self.shape = (max(images.n, 1), IMAGE_PIXELS)
        width, height = texture_layout(self.shape, context.max_texture_size)
        texture = context.create_byte_texture(width, height, images.pixels)
        self.tensor = GpuTensor(context, self.shape, texture)
        self._rows: dict[int, GpuTensor] = {}
        self._programs: dict[tuple, CompiledProgram] = {}

    def write(self, target: GpuTensor, indices) -> None:
        """Images `indices` (len == target.shape[0]) into `target`, one draw."""
        n = target.shape[0]
        rows = self._rows.get(n)
        if rows is None:
            if len(self._rows) >= MAX_INDEX_TENSORS:
                self._rows.pop(next(iter(self._rows))).dispose()
            rows = self._rows[n] = GpuTensor.empty(self.context, (n,))
        rows.upload(array("f", indices))
        key = (target.shape, target.texture.width)
        compiled = self._programs.get(key)
        if compiled is None:
            program = gather_images(target.shape, self.shape,
                                    max_texture_size=self.context.max_texture_size,
                                    widths={"data": self.tensor.texture.width})
            compiled = self._programs[key] = self.context.compile(program)
        self.context.draw(compiled, [self.tensor.texture, rows.texture], target.texture)

    def dispose(self) -> None:
        self.tensor.dispose()
        for rows in self._rows.values():
            rows.dispose()
        self._rows.clear()
