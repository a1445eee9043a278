"""Our side of the benchmark page: runs inside Pyodide, called from bench.mjs.

bench.mjs fetches this file after installing the runtime wheel and runs it once; the
`ours_*` functions are then called from JS, which times them with `performance.now()`, so
a measurement includes the JS -> Python call and the copy of the images across the FFI,
as the page's worker pays them. Dicts come back as JSON text (no proxies to destroy).
"""

from __future__ import annotations

import json

from webgl_backend.context import create_webgl2_context
from webgl_backend.runtime import GpuModel, Runtime
from webgl_backend.training import FineTuner

_GL = create_webgl2_context()
_RUNTIME = Runtime(_GL)
_TUNER: FineTuner | None = None


def _model() -> GpuModel:
    if _RUNTIME.model is None:
        raise ValueError("bench: no model loaded; call ours_load(url) first")
    return _RUNTIME.model


async def ours_load(url: str) -> None:
    """Fetch model.json + shards from `url`, upload, compile and draw batch 1 once."""
    await _RUNTIME.load_model_url(url)


def ours_predict(images, n: int, out) -> None:
    """images: JS Float32Array of n*28*28 floats; out: JS Float32Array of n*10, filled."""
    out.assign(_model().predict(images, n))


def ours_last_forward() -> str:
    """{draws, gl_calls, compiles, programs} of the last predict, as JSON."""
    return json.dumps(_model().last_forward)


def ours_live_textures() -> int:
    return _RUNTIME.context.counters()["live_textures"]


def ours_renderer() -> str:
    """The unmasked WebGL renderer string of our context (what really ran the shaders)."""
    info = _GL.getExtension("WEBGL_debug_renderer_info")
    if info is None:
        return str(_GL.getParameter(_GL.RENDERER))
    return str(_GL.getParameter(info.UNMASKED_RENDERER_WEBGL))


async def ours_train_load(url: str, learning_rate: float) -> None:
    """Fetch and upload the model at `url` (no forward warm-up), plain SGD at this rate."""
    global _TUNER
    model = await _RUNTIME.load_model_url(url, warm_up=False)
    _TUNER = FineTuner(model)
    _TUNER.configure_training(optimizer="sgd", learning_rate=learning_rate)


def ours_train_step(images, labels, n: int) -> float:
    """One SGD step: images a JS Float32Array of n*784, labels a JS Int32Array; the loss."""
    return _TUNER.fit_batch(images, labels, n)


def ours_last_step() -> str:
    """{draws, gl_calls, ms, compiles} of the last training step, as JSON."""
    return json.dumps(_TUNER.last_step)


def ours_dispose() -> None:
    _RUNTIME.dispose()
