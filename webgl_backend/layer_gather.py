"""Many tensors into one texture, so one readback returns them all (the Layers view).

    gather = LayerGather.for_tensors(context, tensors)   # allocates the atlas, compiles
    values = gather.read(tensors)   # [array('f') per tensor, flat NHWC]: draws + one readPixels

The atlas is a near-square RGBA32F texture holding every tensor's texels one after
another (tensor k's texel i at atlas texel start_k + i), written by a generated
`layer_gather` program that reads each tensor as a sampler. A draw can bind at most
MAX_TEXTURE_IMAGE_UNITS samplers (16 in most browsers, the WebGL2 minimum), so more
tensors than that are gathered by a chain of draws into two atlases in turn, each pass
copying the regions of the passes before it from the other atlas: still one readback.
The atlas is built for the tensors' shapes and texture widths; `read` takes the tensors
at call time, so a parameter whose texture a training step swapped is read as it is now.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

from webgl_backend.codegen import (DEFAULT_MAX_TEXTURE_SIZE, Program, build_program,
                                   flat_layout, shape_size, texel_shape)
from webgl_backend.context import CompiledProgram, GLContext
from webgl_backend.tensor import GpuTensor, unpack_last_axis


@dataclass(frozen=True)
class Region:
    """Where one source lands in the atlas: texels [start, start + texels)."""

    shape: tuple[int, ...]
    width: int
    start: int

    @property
    def texels(self) -> int:
        return shape_size(texel_shape(self.shape))

    @property
    def end(self) -> int:
        return self.start + self.texels


def layout_regions(layouts: list[tuple[tuple[int, ...], int]]) -> list[Region]:
    """(shape, texture width) per source -> their regions, packed one after another."""
    regions, start = [], 0
    for shape, width in layouts:
        region = Region(tuple(int(d) for d in shape), int(width), start)
        regions.append(region)
        start = region.end
    return regions


def atlas_shape(total_texels: int, max_texture_size: int) -> tuple[int, int]:
    """The atlas's logical shape (rows, 4 * width): a near-square texture of >= total texels."""
    width, height = flat_layout(total_texels, max_texture_size)
    return (height, 4 * width)


def chunk_sources(count: int, units: int) -> list[range]:
    """Source indices per pass: the first pass has every unit, later ones one less (the
    previous atlas takes a unit)."""
    if units < 2:
        raise ValueError(f"layer_gather: a draw needs at least 2 sampler units, got {units}")
    chunks, first = [], 0
    while first < count:
        size = units if not chunks else units - 1
        chunks.append(range(first, min(count, first + size)))
        first += size
    return chunks


def layer_gather(regions: list[Region], chunk: range, total_texels: int, *,
                 chained: bool, max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE) -> Program:
    """The program of one pass: the sources `chunk` of `regions` into their regions of the
    atlas; with `chained`, every other texel is copied from the `previous` atlas."""
    shape = atlas_shape(total_texels, max_texture_size)
    inputs: dict[str, tuple[int, ...]] = {}
    widths: dict[str, int] = {}
    if chained:
        inputs["previous"] = shape
    lines = []
    for k in chunk:
        region, name = regions[k], f"source{k}"
        inputs[name], widths[name] = region.shape, region.width
        lines.append(f"  if (t >= {region.start} && t < {region.end}) "
                     f"{{ write_output({name}_texel(t - {region.start})); return; }}"
                     f"  // {region.shape}")
    outside = "previous_fetch(ivec2(gl_FragCoord.xy))" if chained else "vec4(0.0)"
    return build_program("layer_gather", "layer_gather", inputs, shape,
                         {"SOURCES": len(chunk), "REGIONS": "\n".join(lines),
                          "OUTSIDE": outside}, max_texture_size, widths)


def layouts_of(tensors: list[GpuTensor]) -> list[tuple[tuple[int, ...], int]]:
    return [(t.shape, t.texture.width) for t in tensors]


class LayerGather:
    """The compiled passes and atlas textures for tensors of given shapes and widths."""

    def __init__(self, context: GLContext, regions: list[Region], chunks: list[range],
                 passes: list[CompiledProgram], atlases: list[GpuTensor]) -> None:
        self.context = context
        self.regions = regions
        self.chunks = chunks
        self.passes = passes
        self.atlases = atlases

    @classmethod
    def for_tensors(cls, context: GLContext, tensors: list[GpuTensor]) -> "LayerGather":
        if not tensors:
            raise ValueError("layer_gather: no tensors to gather")
        regions = layout_regions(layouts_of(tensors))
        total = regions[-1].end
        size = context.max_texture_size
        chunks = chunk_sources(len(regions), context.sampler_units())
        programs = [layer_gather(regions, chunk, total, chained=index > 0, max_texture_size=size)
                    for index, chunk in enumerate(chunks)]
        shape = programs[0].output_shape
        atlases = [GpuTensor.empty(context, shape) for _ in range(min(len(programs), 2))]
        try:
            passes = [context.compile(program) for program in programs]
        except Exception:
            for atlas in atlases:
                atlas.dispose()
            raise
        return cls(context, regions, chunks, passes, atlases)

    def fits(self, tensors: list[GpuTensor]) -> bool:
        """Whether these tensors have the shapes and widths this gather was built for, and
        its textures are alive (not disposed, not lost with a context since restored)."""
        generation = self.context.generation
        return (all(not a.disposed and a.texture.generation == generation for a in self.atlases)
                and [(r.shape, r.width) for r in self.regions] == layouts_of(tensors))

    def draw(self, tensors: list[GpuTensor]) -> GpuTensor:
        """Run the passes; returns the atlas the last one wrote."""
        written = None
        for index, (compiled, chunk) in enumerate(zip(self.passes, self.chunks)):
            sources = [tensors[k].texture for k in chunk]
            target = self.atlases[index % 2]
            inputs = sources if written is None else [written.texture] + sources
            self.context.draw(compiled, inputs, target.texture)
            written = target
        return written

    def read(self, tensors: list[GpuTensor]) -> list[array]:
        """Every tensor's values (flat NHWC) through the atlas: the draws and one readback."""
        if not self.fits(tensors):
            raise ValueError("layer_gather: the tensors' shapes or texture widths differ "
                             "from those this gather was built for")
        atlas = self.draw(tensors)
        rgba = self.context.read(atlas.texture, self.regions[-1].end)
        return [unpack_last_axis(rgba[4 * r.start:4 * r.end], r.shape) for r in self.regions]

    def dispose(self) -> None:
        for atlas in self.atlases:
            atlas.dispose()
