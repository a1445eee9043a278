"""FakeGL: a recording stand-in for WebGL2RenderingContext, for CPython tests.

It has the constants and the methods `context.py` calls, records every call in `calls`
as `(method, args)`, hands out numbered handles, and can make shader compiles fail with
a chosen info log. It draws nothing: texture contents are not computed, readPixels
returns what was last uploaded to the attached texture (so round trips are testable).
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import Callable


class FakeFloat32Array:
    """The slice of the JS Float32Array API the context uses (new, subarray, assign, to_bytes)."""

    def __init__(self, length: int, storage: array | None = None, offset: int = 0) -> None:
        self._storage = storage if storage is not None else array("f", bytes(4 * length))
        self._offset = offset
        self.length = length

    def subarray(self, begin: int, end: int) -> "FakeFloat32Array":
        return FakeFloat32Array(end - begin, self._storage, self._offset + begin)

    def assign(self, buffer) -> None:
        values = memoryview(buffer).cast("B").cast("f")
        if len(values) != self.length:
            raise ValueError(f"assign: {len(values)} floats into a Float32Array of {self.length}")
        self._storage[self._offset:self._offset + self.length] = array("f", values)

    def values(self) -> array:
        return self._storage[self._offset:self._offset + self.length]

    def to_bytes(self) -> bytes:
        return self.values().tobytes()


class FakeUint8Array:
    """A JS Uint8Array's stand-in for byte uploads (RGBA8 textures)."""

    def __init__(self, data: bytes) -> None:
        self.length = len(data)
        self._data = bytes(data)

    def values(self) -> array:
        return array("B", self._data)


@dataclass(eq=False)
class FakeObject:
    """A GL object handle: kind ('texture', 'shader', ...) and a serial number."""

    kind: str
    serial: int
    data: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"<{self.kind} {self.serial}>"


class FakeGL:
    """Records calls like a WebGL2 context would receive them.

    `compile_error`: a function (source) -> info log or None; a non-None log makes that
    fragment shader fail to compile. `extensions`: names getExtension answers.
    """

    # WebGL2 enum values, so recorded calls read like the real ones.
    TEXTURE_2D = 0x0DE1
    TEXTURE0 = 0x84C0
    TEXTURE_MIN_FILTER = 0x2801
    TEXTURE_MAG_FILTER = 0x2800
    TEXTURE_WRAP_S = 0x2802
    TEXTURE_WRAP_T = 0x2803
    NEAREST = 0x2600
    CLAMP_TO_EDGE = 0x812F
    RGBA32F = 0x8814
    RGBA8 = 0x8058
    UNSIGNED_BYTE = 0x1401
    RGBA = 0x1908
    FLOAT = 0x1406
    FRAMEBUFFER = 0x8D40
    COLOR_ATTACHMENT0 = 0x8CE0
    FRAMEBUFFER_COMPLETE = 0x8CD5
    VERTEX_SHADER = 0x8B31
    FRAGMENT_SHADER = 0x8B30
    COMPILE_STATUS = 0x8B81
    LINK_STATUS = 0x8B82
    TRIANGLES = 0x0004
    MAX_TEXTURE_SIZE = 0x0D33
    UNPACK_ALIGNMENT = 0x0CF5
    PACK_ALIGNMENT = 0x0D05
    DEPTH_TEST = 0x0B71
    BLEND = 0x0BE2

    def __init__(self, max_texture_size: int = 8192,
                 extensions: tuple[str, ...] = ("EXT_color_buffer_float",),
                 compile_error: Callable[[str], str | None] | None = None) -> None:
        self.max_texture_size = max_texture_size
        self.extensions = set(extensions)
        self.compile_error = compile_error
        self.calls: list[tuple[str, tuple]] = []
        self.context_lost = False
        self._serial = 0
        self._bound_texture: FakeObject | None = None
        self._bound_framebuffer: FakeObject | None = None

    # -- helpers -------------------------------------------------------------------

    def _record(self, name: str, *args) -> None:
        self.calls.append((name, args))

    def _new(self, kind: str) -> FakeObject:
        self._serial += 1
        return FakeObject(kind, self._serial)

    def count(self, name: str) -> int:
        """How many times method `name` was called."""
        return sum(1 for call, _ in self.calls if call == name)

    @staticmethod
    def new_float32_array(length: int) -> FakeFloat32Array:
        return FakeFloat32Array(length)

    @staticmethod
    def new_uint8_array(data: bytes) -> "FakeUint8Array":
        return FakeUint8Array(data)

    # -- state and queries ---------------------------------------------------------

    def getExtension(self, name: str):
        self._record("getExtension", name)
        return object() if name in self.extensions else None

    def getParameter(self, pname: int):
        self._record("getParameter", pname)
        if pname == self.MAX_TEXTURE_SIZE:
            return self.max_texture_size
        return None

    def isContextLost(self) -> bool:
        self._record("isContextLost")
        return self.context_lost

    def disable(self, cap: int) -> None:
        self._record("disable", cap)

    def pixelStorei(self, pname: int, value: int) -> None:
        self._record("pixelStorei", pname, value)

    def viewport(self, x: int, y: int, width: int, height: int) -> None:
        self._record("viewport", x, y, width, height)

    # -- textures and framebuffers ---------------------------------------------------

    def createTexture(self) -> FakeObject:
        self._record("createTexture")
        return self._new("texture")

    def deleteTexture(self, texture) -> None:
        self._record("deleteTexture", texture)

    def activeTexture(self, unit: int) -> None:
        self._record("activeTexture", unit)

    def bindTexture(self, target: int, texture) -> None:
        self._record("bindTexture", target, texture)
        self._bound_texture = texture

    def texParameteri(self, target: int, pname: int, value: int) -> None:
        self._record("texParameteri", target, pname, value)

    def texStorage2D(self, target, levels, internal_format, width, height) -> None:
        self._record("texStorage2D", target, levels, internal_format, width, height)
        self._bound_texture.data["size"] = (width, height)

    def texSubImage2D(self, target, level, x, y, width, height, fmt, dtype, pixels) -> None:
        self._record("texSubImage2D", target, level, x, y, width, height, fmt, dtype)
        self._bound_texture.data["pixels"] = pixels.values()

    def createFramebuffer(self) -> FakeObject:
        self._record("createFramebuffer")
        return self._new("framebuffer")

    def deleteFramebuffer(self, framebuffer) -> None:
        self._record("deleteFramebuffer", framebuffer)

    def bindFramebuffer(self, target: int, framebuffer) -> None:
        self._record("bindFramebuffer", target, framebuffer)
        self._bound_framebuffer = framebuffer

    def framebufferTexture2D(self, target, attachment, textarget, texture, level) -> None:
        self._record("framebufferTexture2D", target, attachment, textarget, texture, level)
        self._bound_framebuffer.data["texture"] = texture

    def drawBuffers(self, buffers) -> None:
        self._record("drawBuffers", tuple(buffers))

    def checkFramebufferStatus(self, target: int) -> int:
        self._record("checkFramebufferStatus", target)
        return self.FRAMEBUFFER_COMPLETE

    def readPixels(self, x, y, width, height, fmt, dtype, pixels: FakeFloat32Array) -> None:
        self._record("readPixels", x, y, width, height, fmt, dtype)
        texture = self._bound_framebuffer.data.get("texture")
        stored = texture.data.get("pixels") if texture is not None else None
        rgba = array("f", bytes(4 * 4 * width * height))
        if stored is not None:
            rgba[:] = stored[: 4 * width * height]
        pixels.assign(rgba)

    # -- shaders and programs --------------------------------------------------------

    def createShader(self, kind: int) -> FakeObject:
        self._record("createShader", kind)
        shader = self._new("shader")
        shader.data["kind"] = kind
        return shader

    def shaderSource(self, shader, source: str) -> None:
        self._record("shaderSource", shader)
        shader.data["source"] = source

    def compileShader(self, shader) -> None:
        self._record("compileShader", shader)
        log = None
        if self.compile_error is not None and shader.data["kind"] == self.FRAGMENT_SHADER:
            log = self.compile_error(shader.data["source"])
        shader.data["log"] = log

    def getShaderParameter(self, shader, pname: int):
        self._record("getShaderParameter", shader, pname)
        return shader.data.get("log") is None

    def getShaderInfoLog(self, shader) -> str:
        self._record("getShaderInfoLog", shader)
        return shader.data.get("log") or ""

    def deleteShader(self, shader) -> None:
        self._record("deleteShader", shader)

    def createProgram(self) -> FakeObject:
        self._record("createProgram")
        return self._new("program")

    def attachShader(self, program, shader) -> None:
        self._record("attachShader", program, shader)

    def linkProgram(self, program) -> None:
        self._record("linkProgram", program)

    def getProgramParameter(self, program, pname: int):
        self._record("getProgramParameter", program, pname)
        return True

    def getProgramInfoLog(self, program) -> str:
        self._record("getProgramInfoLog", program)
        return ""

    def deleteProgram(self, program) -> None:
        self._record("deleteProgram", program)

    def getUniformLocation(self, program, name: str):
        self._record("getUniformLocation", program, name)
        return ("uniform", program.serial, name)

    def useProgram(self, program) -> None:
        self._record("useProgram", program)

    def uniform1i(self, location, value: int) -> None:
        self._record("uniform1i", location, value)

    def createVertexArray(self) -> FakeObject:
        self._record("createVertexArray")
        return self._new("vertex_array")

    def bindVertexArray(self, vertex_array) -> None:
        self._record("bindVertexArray", vertex_array)

    def deleteVertexArray(self, vertex_array) -> None:
        self._record("deleteVertexArray", vertex_array)

    def drawArrays(self, mode: int, first: int, count: int) -> None:
        self._record("drawArrays", mode, first, count)
