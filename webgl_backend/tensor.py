"""GpuTensor: a texture plus a logical NHWC shape.

The layout is flat row-major NHWC with the last axis packed four values per RGBA32F
texel (`codegen.texture_layout` picks the width). A reshape that keeps the texel order
(same last axis, or multiples of 4) is a view sharing the texture, no draw, no copy;
programs reading a view are told its texture's width. Only the tensor that created a
texture frees it. Packing and unpacking happen here, at upload and readback.
"""

from __future__ import annotations

from array import array

from webgl_backend.codegen import shape_size, texel_shape, texture_layout
from webgl_backend.context import GLContext, GpuTexture
from webgl_backend.errors import ShapeError
from webgl_backend.ops.reshape import is_view


def pack_last_axis(values, shape: tuple[int, ...]):
    """Flat NHWC floats -> RGBA texel data: the last axis padded to a multiple of 4 (zeros).

    A float32 buffer passes through untouched when the last axis is already a multiple
    of 4; otherwise one strided copy per channel (C-speed array slicing).
    """
    channels = shape[-1]
    if channels % 4 == 0:
        return values
    source = values
    if not isinstance(source, array):
        source = array("f")
        source.frombytes(memoryview(values).cast("B"))  # one memcpy, not a float loop
    stride = 4 * -(-channels // 4)
    packed = array("f", bytes(4 * stride * (len(source) // channels)))
    for channel in range(channels):
        packed[channel::stride] = source[channel::channels]
    return packed


def unpack_last_axis(rgba: array, shape: tuple[int, ...]) -> array:
    """RGBA texel data -> flat NHWC floats (drops the padding lanes)."""
    channels = shape[-1]
    if channels % 4 == 0:
        return rgba
    stride = 4 * -(-channels // 4)
    out = array("f", bytes(4 * shape_size(shape)))
    for channel in range(channels):
        out[channel::channels] = rgba[channel::stride]
    return out


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
    def texels(self) -> int:
        return shape_size(texel_shape(self.shape))

    @property
    def disposed(self) -> bool:
        return self.texture.handle is None

    def upload(self, values) -> None:
        """Replace the contents with `values` (prod(shape) float32 values, flat NHWC)."""
        if isinstance(values, list):
            values = array("f", values)
        self.context.upload(self.texture, pack_last_axis(values, self.shape), 4 * self.texels)

    def read(self) -> array:
        """The contents as array('f') of prod(shape) floats, flat NHWC (a GPU sync point)."""
        if self.disposed:
            raise ValueError(f"read: tensor of shape {self.shape} was disposed")
        return unpack_last_axis(self.context.read(self.texture, self.texels), self.shape)

    def reshape(self, shape: tuple[int, ...]) -> "GpuTensor":
        """A view with another shape of the same size, sharing the texture (no copy).

        Only where the texel order is unchanged (`ops.reshape.is_view`); otherwise the
        runtime draws `reshape_forward`.
        """
        shape = tuple(int(d) for d in shape)
        if shape_size(shape) != self.size or not is_view(self.shape, shape):
            raise ShapeError(
                f"reshape: cannot view {self.shape} ({self.size} floats) as {shape} "
                f"({shape_size(shape)} floats) without a copy; the last axis must stay or be "
                "a multiple of 4 on both sides"
            )
        return GpuTensor(self.context, shape, self.texture, owner=False)

    def dispose(self) -> None:
        """Free the texture if this tensor owns it; views only drop their reference."""
        if self.owner:
            self.context.delete_texture(self.texture)

    def __repr__(self) -> str:
        state = "disposed" if self.disposed else f"{self.texture.width}x{self.texture.height}"
        return f"GpuTensor(shape={self.shape}, texture={state}{'' if self.owner else ', view'})"
