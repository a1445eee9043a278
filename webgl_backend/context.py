"""GLContext: the only module that touches GL. Textures, framebuffers, compile/link, draws.

Wraps a WebGL2RenderingContext: the JS object through Pyodide's FFI in the page, or
`fake_gl.FakeGL` in CPython. Everything GL-shaped (enum values, JS typed arrays, info
logs) is converted here, so callers see ints, `array('f')` and Python exceptions.

Costs that shape this file (ENVIRONMENT.md): one FFI call is ~1.5 us with the method
held in a local, `getError` is a 60-290 us round trip (never called), a program's first
draw compiles it in SwiftShader (so `warm_up` draws once), and host data must cross in
bulk: one Float32Array per transfer, filled by `assign(memoryview)`.
"""

from __future__ import annotations

import re
import sys
from array import array
from dataclasses import dataclass, field

from webgl_backend.codegen import Program, numbered_source
from webgl_backend.errors import ContextLostError, ShaderCompileError, WebGL2UnavailableError

IN_PYODIDE = sys.platform == "emscripten"

VERTEX_SHADER_SOURCE = """#version 300 es
// One triangle that covers the viewport: corners (-1,-1), (3,-1), (-1,3).
void main() {
  vec2 corner = vec2(float((gl_VertexID & 1) << 2), float((gl_VertexID & 2) << 1)) - 1.0;
  gl_Position = vec4(corner, 0.0, 1.0);
}
"""

_ERROR_LINE = re.compile(r"ERROR:\s*\d+:(\d+):")
# Source lines shown on each side of the line a compile error points at.
_CONTEXT_LINES = 4
# Staging Float32Arrays kept per size; predict reuses the same few sizes.
_MAX_STAGING_BUFFERS = 16


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


def _default_float32_factory(gl):
    """How to make a JS Float32Array of n floats for this context."""
    fake_factory = getattr(gl, "new_float32_array", None)
    if fake_factory is not None and not IN_PYODIDE:
        return fake_factory
    from js import Float32Array  # noqa: PLC0415 - only importable inside Pyodide

    return Float32Array.new


def _has_method(gl, name: str) -> bool:
    try:
        return getattr(gl, name, None) is not None
    except Exception:  # noqa: BLE001 - a JS getter may throw; that means "absent"
        return False


class CountingGL:
    """A GL context whose every method call is counted in `calls`; constants pass through.

    Counting at the one door every call goes through keeps the figure exact by
    construction (the 'GL calls' of the page's hood and the bench).
    """

    def __init__(self, gl) -> None:
        self._gl = gl
        self.calls = 0

    def __getattr__(self, name: str):
        value = getattr(self._gl, name)
        if name.isupper() or not callable(value):
            return value

        def counted(*args):
            self.calls += 1
            return value(*args)

        return counted


class GLContext:
    """One WebGL2 context plus the program cache and live-object counters.

    Counters (`counters()`): compiles, draws, gl_calls (FFI calls made through this
    wrapper), live_textures, live_framebuffers.
    """

    def __init__(self, gl, float32_factory=None) -> None:
        if gl is None:
            raise WebGL2UnavailableError(
                "WebGL2 is not available: canvas.getContext('webgl2') returned null. "
                "shadernet runs models on the GPU through WebGL2; use a browser with WebGL2 "
                "enabled (hardware acceleration on)."
            )
        if not (_has_method(gl, "texStorage2D") and _has_method(gl, "createVertexArray")):
            raise WebGL2UnavailableError(
                f"WebGL2 is not available: the context given ({type(gl).__name__}) lacks "
                "texStorage2D/createVertexArray, so it is not a WebGL2RenderingContext."
            )
        self.gl = CountingGL(gl)
        if not self.gl.getExtension("EXT_color_buffer_float"):
            raise WebGL2UnavailableError(
                "WebGL2 is available but EXT_color_buffer_float is not: this GPU/browser "
                "cannot render into float32 textures, which shadernet needs for every layer."
            )
        self._new_float32 = float32_factory or _default_float32_factory(gl)
        self._load_constants()
        self.max_texture_size = int(self.gl.getParameter(self.MAX_TEXTURE_SIZE))
        self.compiles = 0
        self.draws = 0
        self.live_textures = 0
        self.live_framebuffers = 0
        self.generation = 0
        self._programs: dict[str, CompiledProgram] = {}
        self._upload_staging: dict[int, tuple[object, dict[int, object]]] = {}
        self._read_staging: dict[int, object] = {}
        self._bind_hot_methods()
        self._reset_state()

    # -- set-up ----------------------------------------------------------------------

    def _load_constants(self) -> None:
        gl = self.gl
        for name in ("TEXTURE_2D", "TEXTURE0", "TEXTURE_MIN_FILTER", "TEXTURE_MAG_FILTER",
                     "TEXTURE_WRAP_S", "TEXTURE_WRAP_T", "NEAREST", "CLAMP_TO_EDGE", "RGBA32F",
                     "RGBA", "FLOAT", "FRAMEBUFFER", "COLOR_ATTACHMENT0",
                     "FRAMEBUFFER_COMPLETE", "VERTEX_SHADER", "FRAGMENT_SHADER",
                     "COMPILE_STATUS", "LINK_STATUS", "TRIANGLES", "MAX_TEXTURE_SIZE"):
            setattr(self, name, int(getattr(gl, name)))

    def _bind_hot_methods(self) -> None:
        # Attribute lookups through the FFI cost about as much as the call: look up once.
        gl = self.gl
        self._bindFramebuffer = gl.bindFramebuffer
        self._viewport = gl.viewport
        self._useProgram = gl.useProgram
        self._activeTexture = gl.activeTexture
        self._bindTexture = gl.bindTexture
        self._drawArrays = gl.drawArrays
        self._texSubImage2D = gl.texSubImage2D
        self._readPixels = gl.readPixels

    def _reset_state(self) -> None:
        """Forget cached GL state (after creation or a context restore)."""
        self._vertex_shader = None
        self._vertex_array = None
        self._bound_framebuffer = None
        self._viewport_size = None
        self._current_program = None
        self._active_unit = 0
        self._unit_textures: dict[int, object] = {}

    def _ensure_vertex_array(self) -> None:
        if self._vertex_array is not None:
            return
        gl = self.gl
        # Drawing needs a bound VAO; the triangle comes from gl_VertexID, no buffers.
        self._vertex_array = gl.createVertexArray()
        gl.bindVertexArray(self._vertex_array)
        self._vertex_shader = self._compile_shader(
            self.VERTEX_SHADER, VERTEX_SHADER_SOURCE, "full-screen triangle (vertex)")

    # -- context loss ------------------------------------------------------------------

    def is_lost(self) -> bool:
        """True while the browser has taken the context away (one FFI call)."""
        return bool(self.gl.isContextLost())

    def check_not_lost(self) -> None:
        if self.is_lost():
            raise ContextLostError(
                "The WebGL context was lost (the GPU was reset or the browser reclaimed it); "
                "its textures and programs are gone. Reload the model once the context is "
                "restored (GpuModel.restore())."
            )

    def reset_after_restore(self) -> None:
        """Drop every GL object this wrapper knew; they died with the old context."""
        # Extensions are per context: float render targets must be enabled again.
        if not self.gl.getExtension("EXT_color_buffer_float"):
            raise WebGL2UnavailableError(
                "The restored WebGL2 context lacks EXT_color_buffer_float: it cannot render "
                "into float32 textures."
            )
        self.generation += 1
        self._programs.clear()
        self._upload_staging.clear()
        self._read_staging.clear()
        self.live_textures = 0
        self.live_framebuffers = 0
        self._reset_state()

    # -- counters ----------------------------------------------------------------------

    @property
    def gl_calls(self) -> int:
        """GL calls made through this wrapper so far (counted by `CountingGL`)."""
        return self.gl.calls

    def counters(self) -> dict[str, int]:
        return {
            "compiles": self.compiles,
            "draws": self.draws,
            "gl_calls": self.gl_calls,
            "live_textures": self.live_textures,
            "live_framebuffers": self.live_framebuffers,
            "programs": len(self._programs),
        }

    # -- textures --------------------------------------------------------------------

    def _bind_for_update(self, handle) -> None:
        """Bind `handle` to the active unit (recording it, so draws stay consistent)."""
        self._bindTexture(self.TEXTURE_2D, handle)
        self._unit_textures[self._active_unit] = handle

    def create_texture(self, width: int, height: int) -> GpuTexture:
        """An uninitialised width x height RGBA32F texture, sampled at texel centres only."""
        gl = self.gl
        handle = gl.createTexture()
        self._bind_for_update(handle)
        gl.texStorage2D(self.TEXTURE_2D, 1, self.RGBA32F, width, height)
        # Float32 is not filterable: any mipmap/linear min filter would make it incomplete.
        gl.texParameteri(self.TEXTURE_2D, self.TEXTURE_MIN_FILTER, self.NEAREST)
        gl.texParameteri(self.TEXTURE_2D, self.TEXTURE_MAG_FILTER, self.NEAREST)
        self.live_textures += 1
        return GpuTexture(handle, width, height, self.generation)

    def delete_texture(self, texture: GpuTexture) -> None:
        """Free the texture and its framebuffer; a second call does nothing."""
        if texture.handle is None:
            return
        if texture.generation == self.generation:
            gl = self.gl
            for framebuffer in (texture.framebuffer, texture.group_framebuffer):
                if framebuffer is None:
                    continue
                if self._bound_framebuffer is framebuffer:
                    self._bound_framebuffer = None
                gl.deleteFramebuffer(framebuffer)
                self.live_framebuffers -= 1
            for unit, bound in list(self._unit_textures.items()):
                if bound is texture.handle:
                    del self._unit_textures[unit]
            gl.deleteTexture(texture.handle)
            self.live_textures -= 1
        texture.handle = None
        texture.framebuffer = None
        texture.group_framebuffer = None
        texture.group = ()

    def _staging_view(self, capacity: int, size: int):
        """A reusable Float32Array view of `size` floats inside one of `capacity` floats."""
        entry = self._upload_staging.get(capacity)
        if entry is None:
            if len(self._upload_staging) >= _MAX_STAGING_BUFFERS:
                self._upload_staging.pop(next(iter(self._upload_staging)))
            entry = (self._new_float32(capacity), {})
            self._upload_staging[capacity] = entry
        full, views = entry
        view = views.get(size)
        if view is None:
            view = full if size == capacity else full.subarray(0, size)
            views[size] = view
        return full, view

    def upload(self, texture: GpuTexture, values, size: int) -> None:
        """Copy `size` floats (RGBA texel data, a float32 buffer) into the texture's first
        texels: one bulk copy into a staging Float32Array and one texSubImage2D."""
        data = memoryview(values)
        if data.format != "f":
            data = data.cast("B").cast("f")
        if data.nbytes != 4 * size:
            raise ValueError(
                f"upload: expected {size} float32 values ({4 * size} bytes), "
                f"got {data.nbytes} bytes"
            )
        capacity = 4 * texture.width * texture.height
        if size > capacity:
            raise ValueError(f"upload: {size} floats do not fit a {texture.width}x"
                             f"{texture.height} RGBA texture ({capacity} floats)")
        # Texels past `size` keep whatever the staging buffer held: no program reads them.
        full, view = self._staging_view(capacity, size)
        view.assign(data)
        self._bind_for_update(texture.handle)
        self._texSubImage2D(self.TEXTURE_2D, 0, 0, 0, texture.width, texture.height,
                            self.RGBA, self.FLOAT, full)

    def _framebuffer(self, texture: GpuTexture):
        if texture.framebuffer is None:
            gl = self.gl
            framebuffer = gl.createFramebuffer()
            gl.bindFramebuffer(self.FRAMEBUFFER, framebuffer)
            gl.framebufferTexture2D(self.FRAMEBUFFER, self.COLOR_ATTACHMENT0, self.TEXTURE_2D,
                                    texture.handle, 0)
            self._bound_framebuffer = framebuffer
            texture.framebuffer = framebuffer
            self.live_framebuffers += 1
        return texture.framebuffer

    def _group_framebuffer(self, outputs: list[GpuTexture]):
        """One framebuffer with every texture of `outputs` as colour attachment 0, 1, ..."""
        first = outputs[0]
        handles = tuple(t.handle for t in outputs)
        if first.group_framebuffer is not None and first.group == handles:
            return first.group_framebuffer
        gl = self.gl
        if first.group_framebuffer is not None:
            gl.deleteFramebuffer(first.group_framebuffer)
            self.live_framebuffers -= 1
        framebuffer = gl.createFramebuffer()
        gl.bindFramebuffer(self.FRAMEBUFFER, framebuffer)
        attachments = [self.COLOR_ATTACHMENT0 + j for j in range(len(outputs))]
        for attachment, texture in zip(attachments, outputs):
            gl.framebufferTexture2D(self.FRAMEBUFFER, attachment, self.TEXTURE_2D,
                                    texture.handle, 0)
        # The draw-buffer list is framebuffer state: set once here.
        gl.drawBuffers(_js_list(attachments))
        self._bound_framebuffer = framebuffer
        self.live_framebuffers += 1
        first.group_framebuffer, first.group = framebuffer, handles
        return framebuffer

    def read(self, texture: GpuTexture, texels: int) -> array:
        """The first `texels` texels as array('f') of 4 * texels floats (RGBA order).

        readPixels with RGBA/FLOAT (always allowed on a float colour buffer) over the rows
        that hold data; this is also the GPU sync point.
        """
        framebuffer = self._framebuffer(texture)
        if self._bound_framebuffer is not framebuffer:
            self._bindFramebuffer(self.FRAMEBUFFER, framebuffer)
            self._bound_framebuffer = framebuffer
        rows = -(-texels // texture.width)
        floats = 4 * texture.width * rows
        staging = self._read_staging.get(floats)
        if staging is None:
            if len(self._read_staging) >= _MAX_STAGING_BUFFERS:
                self._read_staging.pop(next(iter(self._read_staging)))
            staging = self._new_float32(floats)
            self._read_staging[floats] = staging
        self._readPixels(0, 0, texture.width, rows, self.RGBA, self.FLOAT, staging)
        rgba = array("f")
        rgba.frombytes(staging.to_bytes())
        del rgba[4 * texels:]
        return rgba

    # -- programs --------------------------------------------------------------------

    def _compile_shader(self, kind: int, source: str, op_name: str):
        gl = self.gl
        shader = gl.createShader(kind)
        gl.shaderSource(shader, source)
        gl.compileShader(shader)
        if not gl.getShaderParameter(shader, self.COMPILE_STATUS):
            log = str(gl.getShaderInfoLog(shader) or "").strip()
            gl.deleteShader(shader)
            raise ShaderCompileError(_compile_message(op_name, "compile", log, source))
        return shader

    def compile(self, program: Program) -> CompiledProgram:
        """The linked program for `program.source`, from the cache when seen before."""
        cached = self._programs.get(program.source)
        if cached is not None:
            return cached
        self._ensure_vertex_array()
        gl = self.gl
        fragment = self._compile_shader(self.FRAGMENT_SHADER, program.source, program.name)
        handle = gl.createProgram()
        gl.attachShader(handle, self._vertex_shader)
        gl.attachShader(handle, fragment)
        gl.linkProgram(handle)
        if not gl.getProgramParameter(handle, self.LINK_STATUS):
            log = str(gl.getProgramInfoLog(handle) or "").strip()
            gl.deleteProgram(handle)
            gl.deleteShader(fragment)
            raise ShaderCompileError(_compile_message(program.name, "link", log, program.source))
        # The program keeps the compiled code; the shader object is no longer needed.
        gl.deleteShader(fragment)
        gl.useProgram(handle)
        self._current_program = handle
        compiled = CompiledProgram(program, handle)
        for unit, name in enumerate(program.inputs):
            location = gl.getUniformLocation(handle, name)
            compiled.sampler_locations[name] = location
            # Sampler units never change: input k always reads texture unit k.
            gl.uniform1i(location, unit)
        self._programs[program.source] = compiled
        self.compiles += 1
        return compiled

    def draw(self, compiled: CompiledProgram, inputs: list[GpuTexture], output) -> None:
        """Run the program over every texel of `output`, input k bound to texture unit k.

        `output` is a texture, or for a program with `outputs` > 1 a list of that many
        same-sized textures (colour attachment j gets the shader's output location j).
        """
        program = compiled.program
        if isinstance(output, (list, tuple)):
            if len(output) != program.outputs:
                raise ValueError(f"{program.name}: program writes {program.outputs} outputs; "
                                 f"draw was given {len(output)}")
            framebuffer = self._group_framebuffer(list(output))
            output = output[0]
        elif program.outputs != 1:
            raise ValueError(f"{program.name}: program writes {program.outputs} outputs; "
                             "draw was given one texture")
        else:
            framebuffer = output.framebuffer or self._framebuffer(output)
        if len(inputs) != len(program.inputs) or (
                program.input_widths
                and [t.width for t in inputs] != list(program.input_widths)):
            raise ValueError(
                f"{program.name}: program was built for inputs {program.inputs} with texture "
                f"widths {program.input_widths}; draw was given widths "
                f"{tuple(t.width for t in inputs)}"
            )
        if self._bound_framebuffer is not framebuffer:
            self._bindFramebuffer(self.FRAMEBUFFER, framebuffer)
            self._bound_framebuffer = framebuffer
        size = (output.width, output.height)
        if self._viewport_size != size:
            self._viewport(0, 0, output.width, output.height)
            self._viewport_size = size
        if self._current_program is not compiled.handle:
            self._useProgram(compiled.handle)
            self._current_program = compiled.handle
        unit_textures = self._unit_textures
        for unit, texture in enumerate(inputs):
            handle = texture.handle
            if unit_textures.get(unit) is not handle:
                if self._active_unit != unit:
                    self._activeTexture(self.TEXTURE0 + unit)
                    self._active_unit = unit
                self._bindTexture(self.TEXTURE_2D, handle)
                unit_textures[unit] = handle
        self._drawArrays(self.TRIANGLES, 0, 3)
        compiled.drawn = True
        self.draws += 1

    def delete_programs(self) -> None:
        """Delete every cached program (they are rebuilt on demand)."""
        for compiled in self._programs.values():
            self.gl.deleteProgram(compiled.handle)
        self._programs.clear()
        self._current_program = None


def _js_list(values: list[int]):
    """A JS Array of ints in the page (a Python list would cross as a proxy), else the list."""
    if not IN_PYODIDE:
        return values
    from pyodide.ffi import to_js  # noqa: PLC0415 - only importable inside Pyodide

    return to_js(values)


def _compile_message(op_name: str, stage: str, log: str, source: str) -> str:
    """'<op>: fragment shader failed to compile' + info log + numbered lines around the error."""
    match = _ERROR_LINE.search(log)
    if match:
        line = int(match.group(1))
        excerpt = numbered_source(source, line - _CONTEXT_LINES, line + _CONTEXT_LINES, mark=line)
        where = f"source lines around line {line}:"
    else:
        excerpt = numbered_source(source)
        where = "source:"
    what = "fragment shader failed to compile" if stage == "compile" else "program failed to link"
    if "vertex" in op_name:
        what = "vertex shader failed to compile"
    return f"{op_name}: {what}\ninfo log: {log or '(empty)'}\n{where}\n{excerpt}"


def create_webgl2_context(width: int = 1, height: int = 1):
    """A WebGL2 context on a new OffscreenCanvas (in Pyodide, main thread or worker).

    Every tensor renders into its own framebuffer, so the canvas itself stays 1x1.
    Returns the JS context, or raises WebGL2UnavailableError.
    """
    from js import OffscreenCanvas  # noqa: PLC0415 - only importable inside Pyodide
    from pyodide.code import run_js  # noqa: PLC0415
    from pyodide.ffi import to_js  # noqa: PLC0415

    from js import Object  # noqa: PLC0415

    canvas = OffscreenCanvas.new(width, height)
    options = to_js({"antialias": False, "depth": False, "stencil": False,
                     "premultipliedAlpha": False, "preserveDrawingBuffer": False},
                    dict_converter=Object.fromEntries)
    gl = canvas.getContext("webgl2", options)
    if gl is not None:
        # Without preventDefault on 'webglcontextlost' the browser never restores the
        # context; a JS listener needs no Python proxy kept alive.
        run_js("(canvas) => canvas.addEventListener('webglcontextlost', "
               "(event) => event.preventDefault())")(canvas)
    if gl is None:
        raise WebGL2UnavailableError(
            "WebGL2 is not available: OffscreenCanvas.getContext('webgl2') returned null. "
            "shadernet runs models on the GPU through WebGL2; use a browser with WebGL2 "
            "enabled (hardware acceleration on)."
        )
    return gl
