"""GLContext: the only object that touches GL: compile/link, draws, context loss, counters;
textures and framebuffers in gl_textures.py.

Wraps a WebGL2RenderingContext: the JS object through Pyodide's FFI in the page, or
`fake_gl.FakeGL` in CPython. Everything GL-shaped (enum values, JS typed arrays, info
logs) is converted here, so callers see ints, `array('f')` and Python exceptions.

Costs that shape this design: one FFI call is ~1.5 us with the method
held in a local, `getError` is a 60-290 us round trip (never called), a program's first
draw compiles it in SwiftShader (so `warm_up` draws once), and host data must cross in
bulk: one Float32Array per transfer, filled by `assign(memoryview)`.
"""

from __future__ import annotations

from webgl_backend.codegen import Program
from webgl_backend.compile_errors import compile_message
from webgl_backend.errors import ContextLostError, ShaderCompileError, WebGL2UnavailableError
from webgl_backend.gl_access import CountingGL, create_webgl2_context, has_method
from webgl_backend.gl_objects import CompiledProgram, GpuTexture
from webgl_backend.gl_textures import TextureStore
from webgl_backend.host_data import float32_factory as default_float32_factory

__all__ = ["CompiledProgram", "GLContext", "GpuTexture", "create_webgl2_context"]

VERTEX_SHADER_SOURCE = """#version 300 es
// One triangle that covers the viewport: corners (-1,-1), (3,-1), (-1,3).
void main() {
  vec2 corner = vec2(float((gl_VertexID & 1) << 2), float((gl_VertexID & 2) << 1)) - 1.0;
  gl_Position = vec4(corner, 0.0, 1.0);
}
"""


class GLContext(TextureStore):
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
        if not (has_method(gl, "texStorage2D") and has_method(gl, "createVertexArray")):
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
        self._new_float32 = float32_factory or default_float32_factory(gl)
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
                     "RGBA8", "UNSIGNED_BYTE", "RGBA", "FLOAT", "FRAMEBUFFER", "COLOR_ATTACHMENT0",
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

    # -- programs --------------------------------------------------------------------

    def _compile_shader(self, kind: int, source: str, op_name: str):
        gl = self.gl
        shader = gl.createShader(kind)
        gl.shaderSource(shader, source)
        gl.compileShader(shader)
        if not gl.getShaderParameter(shader, self.COMPILE_STATUS):
            log = str(gl.getShaderInfoLog(shader) or "").strip()
            gl.deleteShader(shader)
            raise ShaderCompileError(compile_message(op_name, "compile", log, source))
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
            raise ShaderCompileError(compile_message(program.name, "link", log, program.source))
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
