"""How we reach GL: a WebGL2 context on an OffscreenCanvas in the page, and the counting
wrapper every call of the context goes through."""

from __future__ import annotations

from webgl_backend.errors import WebGL2UnavailableError


def has_method(gl, name: str) -> bool:
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


def _allow_restore(event) -> None:
    event.preventDefault()


def create_webgl2_context(width: int = 1, height: int = 1):
    """A WebGL2 context on a new OffscreenCanvas (in Pyodide, main thread or worker).

    Every tensor renders into its own framebuffer, so the canvas itself stays 1x1.
    Returns the JS context, or raises WebGL2UnavailableError.
    """
    from js import OffscreenCanvas  # noqa: PLC0415 - only importable inside Pyodide
    from pyodide import ffi  # noqa: PLC0415
    from pyodide.ffi import create_proxy, to_js  # noqa: PLC0415

    from js import Object  # noqa: PLC0415

    canvas = OffscreenCanvas.new(width, height)
    options = to_js({"antialias": False, "depth": False, "stencil": False,
                     "premultipliedAlpha": False, "preserveDrawingBuffer": False},
                    dict_converter=Object.fromEntries)
    gl = canvas.getContext("webgl2", options)
    if gl is getattr(ffi, "jsnull", None):  # this Pyodide hands JS null back as jsnull
        gl = None
    if gl is not None:
        # Without preventDefault on 'webglcontextlost' the browser never restores the
        # context. A Python listener, not JS text run with eval: the page's CSP needs no
        # 'unsafe-eval'. The proxy lives as long as the canvas holds it (one per context).
        canvas.addEventListener("webglcontextlost", create_proxy(_allow_restore))
    if gl is None:
        raise WebGL2UnavailableError(
            "WebGL2 is not available: OffscreenCanvas.getContext('webgl2') returned null. "
            "shadernet runs models on the GPU through WebGL2; use a browser with WebGL2 "
            "enabled (hardware acceleration on)."
        )
    return gl
