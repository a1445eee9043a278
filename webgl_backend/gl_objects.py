"""Handles of the GL objects the context creates: textures (with their framebuffers) and
linked programs (with their sampler locations)."""

from __future__ import annotations

from dataclasses import dataclass, field

from webgl_backend.codegen import Program


@dataclass(eq=False)
class GpuTexture:
    """An RGBA32F texture of width x height texels, with its framebuffer once drawn into.

    `group_framebuffer` attaches this texture and `group` (the other outputs of a
    multiple-render-target program, see `draw`) as colour attachments 0..n-1; it is kept
    on the first texture of the group and freed with it.
    """

    handle: object
    width: int
    height: int
    generation: int
    framebuffer: object = None
    group_framebuffer: object = None
    group: tuple = ()


@dataclass(eq=False)
class CompiledProgram:
    """A linked program, its sampler locations (looked up once) and the Program it came from."""

    program: Program
    handle: object
    sampler_locations: dict[str, object] = field(default_factory=dict)
    drawn: bool = False
