"""GpuTensor: a texture plus a logical NHWC shape.

The layout is flat row-major NHWC, one float per texel (`codegen.texture_layout` picks
the width). Any reshape keeps that flat order, so reshape and flatten are views that
share the texture (no draw, no copy); programs reading a view are told its texture's
width. Only the tensor that created a texture frees it.
"""

from __future__ import annotations

from array import array

from webgl_backend.codegen import shape_size, texture_layout
from webgl_backend.context import GLContext, GpuTexture
from webgl_backend.errors import ShapeError


class GpuTensor:
    """A float32 tensor of `shape` living in a texture of `context`."""

    def __init__(self, context: GLContext, shape: tuple[int, ...], texture: GpuTexture,
                 owner: bool = True) -> None:
        self.context = context
        self.shape = tuple(int(d) for d in shape)
        self.texture = texture
        self.owner = owner

    @classmethod
    def empty(cls, context: GLContext, shape: tuple[int, ...]) -> "GpuTensor":
        """An uninitialised tensor (an output for a program to write)."""
        width, height = texture_layout(tuple(shape), context.max_texture_size)
        return cls(context, shape, context.create_texture(width, height))

    @classmethod
    def from_host(cls, context: GLContext, shape: tuple[int, ...], values) -> "GpuTensor":
        """A tensor holding `values` (a float32 buffer of prod(shape) floats, or a list)."""
        tensor = cls.empty(context, shape)
        tensor.upload(values)
        return tensor

    @property
    def size(self) -> int:
        return shape_size(self.shape)

    @property
    def disposed(self) -> bool:
        return self.texture.handle is None

    def upload(self, values) -> None:
        """Replace the contents with `values` (prod(shape) float32 values, in bulk)."""
        if isinstance(values, list):
            values = array("f", values)
        self.context.upload(self.texture, values, self.size)

    def read(self) -> array:
        """The contents as array('f') of prod(shape) floats, flat NHWC (a GPU sync point)."""
        if self.disposed:
            raise ValueError(f"read: tensor of shape {self.shape} was disposed")
        return self.context.read(self.texture, self.size)

    def reshape(self, shape: tuple[int, ...]) -> "GpuTensor":
        """A view with another shape of the same size (shares the texture; no copy)."""
        shape = tuple(int(d) for d in shape)
        if shape_size(shape) != self.size:
            raise ShapeError(
                f"reshape: cannot view {self.shape} ({self.size} floats) as {shape} "
                f"({shape_size(shape)} floats)"
            )
        return GpuTensor(self.context, shape, self.texture, owner=False)

    def flatten(self) -> "GpuTensor":
        """(n, ...) -> (n, prod(...)) view, in NHWC order like Keras's Flatten."""
        return self.reshape((self.shape[0], self.size // self.shape[0]))

    def dispose(self) -> None:
        """Free the texture if this tensor owns it; views only drop their reference."""
        if self.owner:
            self.context.delete_texture(self.texture)

    def __repr__(self) -> str:
        state = "disposed" if self.disposed else f"{self.texture.width}x{self.texture.height}"
        return f"GpuTensor(shape={self.shape}, texture={state}{'' if self.owner else ', view'})"
