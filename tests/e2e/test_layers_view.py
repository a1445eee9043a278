"""The "Layers" view: every layer's output for the current drawing, read back from the
GPU, compared with the numpy forward (model_export's reference layers) of the same 28x28
input and the same weights; its canvases show what the numbers say; closing it leaves
the forward path as it was."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from model_export.export import build_files
from model_export.exported import load_exported
from model_export.layers import Conv2D, Dense, Flatten, LeakyReLU, MaxPooling2D
from model_export.model import Sequential
from tests.e2e.digits import DIGITS, PLACES, place
from tests.browser.pyodide import shared_pyodide_page
from tests.e2e.models import default_model_dir
from tests.e2e.pixels import save_page
from tests.support.page_driver import draw
from webgl_backend.fake_gl import FakeGL
from webgl_backend.layer_gather import chunk_sources, layer_gather, layout_regions
from webgl_backend.worker_api import PageSession

MAP_PIXELS = """(name) => [...document.querySelectorAll(
  `[data-testid=layer-map][data-layer="${name}"]`)].map((canvas) => Array.from(
  canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data)
  .filter((_, i) => i % 4 === 0))"""

# The view's last answer, its Float32Arrays as plain arrays.
LAYERS_RESULT = """() => { const r = window.shadernetLayers;
  const plain = (part) => part && {...part, values: Array.from(part.values)};
  return {...r, input: plain(r.input), kernels: plain(r.kernels), layers: r.layers.map(plain)}; }"""


def floats(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.float32)


def numpy_outputs(model: Sequential, image: np.ndarray) -> dict[str, np.ndarray]:
    """Each layer's output (batch 1) by name, the fused activation included."""
    outputs, x = {}, image
    for layer in model.layers:
        x = layer.forward(x)
        outputs[layer.name] = x[0]
    return outputs


# -- the worker method, in CPython -----------------------------------------------------

def small_cnn_session() -> PageSession:
    model = Sequential([Conv2D(3, 3, activation="relu"), Flatten(), Dense(10, activation="softmax")],
                       input_shape=(28, 28, 1), seed=0)
    model_json, shards = build_files(model)
    session = PageSession(FakeGL())
    session.load(json.dumps(model_json), shards)
    session.warm_up()
    return session


def test_layers_returns_every_drawn_layer_and_the_first_kernels_without_extra_draws():
    session = small_cnn_session()
    image = [0.0] * 784
    plain = session.predict(image, 1)["forward"]
    gl = session.runtime.context.gl._gl
    reads = gl.count("readPixels")
    result = session.layers(image)
    assert result["forward"]["draws"] == plain["draws"]
    assert result["gather"]["draws"] == 1 and result["gather"]["readbacks"] == 1
    assert gl.count("readPixels") == reads + 1  # one readback for every layer and the kernels
    assert len(result["probabilities"]) == 10 and floats(result["input"]["values"]).size == 784
    layers = result["layers"]
    assert [layer["class_name"] for layer in layers] == ["Conv2D", "Dense"]
    assert [layer["activation"] for layer in layers] == ["relu", "softmax"]
    assert all(layer["ms"] >= 0 for layer in layers)
    assert [layer["shape"] for layer in layers] == [[26, 26, 3], [10]]
    assert [layer["parameters"] for layer in layers] == [3 * 3 * 3 + 3, 26 * 26 * 3 * 10 + 10]
    assert [floats(layer["values"]).size for layer in layers] == [26 * 26 * 3, 10]
    assert result["kernels"]["shape"] == [3, 3, 1, 3] and floats(result["kernels"]["values"]).size == 27
    assert session.predict(image, 1)["forward"] == plain


def gl_methods(gl: FakeGL, since: int) -> list[str]:
    return [name for name, _ in gl.calls[since:]]


def test_a_refresh_reads_back_once_compiles_and_allocates_nothing_after_the_first():
    session = small_cnn_session()
    context = session.runtime.context
    gl = context.gl._gl
    session.layers([0.0] * 784)
    before, mark = context.counters(), len(gl.calls)
    result = session.layers([0.5] * 784)
    after = context.counters()
    assert gl_methods(gl, mark).count("readPixels") == 1
    assert gl_methods(gl, mark).count("drawArrays") == result["forward"]["draws"] + 1
    assert (after["compiles"], after["live_textures"], after["live_framebuffers"]) == (
        before["compiles"], before["live_textures"], before["live_framebuffers"])


def test_the_predict_path_is_unchanged_by_a_view_that_was_opened_and_closed():
    """The same GL calls, in the same order, for a predict in a session that never opened
    the view as in one that did (once the bound-state caches have settled)."""
    image = [0.25] * 784
    plain, viewed = small_cnn_session(), small_cnn_session()
    for session in (plain, viewed):
        session.predict(image, 1)
    viewed.layers(image)
    for session in (plain, viewed):
        session.predict(image, 1)
    sequences, counts = [], []
    for session in (plain, viewed):
        gl = session.runtime.context.gl._gl
        mark = len(gl.calls)
        counts.append(session.predict(image, 1)["forward"])
        sequences.append(gl_methods(gl, mark))
    assert sequences[0] == sequences[1] and counts[0] == counts[1]


def test_more_layers_than_sampler_units_are_gathered_by_a_chain_still_read_back_once():
    session = small_cnn_session()
    context = session.runtime.context
    context._sampler_units = 2  # three tensors (conv, dense, kernels): passes of 2, then 1
    gl = context.gl._gl
    mark = len(gl.calls)
    result = session.layers([0.0] * 784)
    assert result["gather"]["draws"] == 2 and gl_methods(gl, mark).count("readPixels") == 1


def test_disposing_the_model_frees_the_gather_textures():
    session = small_cnn_session()
    context = session.runtime.context
    textures = context.counters()["live_textures"]
    session.layers([0.0] * 784)
    assert context.counters()["live_textures"] == textures + 1  # one atlas
    session.runtime.model.dispose()
    assert context.counters()["live_textures"] == 0


# -- the page --------------------------------------------------------------------------

@pytest.mark.browser
def test_layer_maps_equal_the_numpy_forward_and_show_on_the_canvases(drawing_page):
    page = drawing_page.page
    plain = draw_and_forward(drawing_page)
    page.locator("#layers > summary").focus()
    page.keyboard.press("Enter")  # keyboard reachable: the summary toggles the panel
    page.wait_for_function("() => window.shadernetLayers && window.shadernetLayers.layers")
    drawing_page.wait_settled()
    result = page.evaluate(LAYERS_RESULT)
    model = load_exported(default_model_dir())
    image = np.array(result["input"]["values"], dtype=np.float32).reshape((1,) + model.input_shape)
    expected = numpy_outputs(model, image)
    assert [layer["name"].split("+")[0] for layer in result["layers"]] == [
        layer.name for layer in model.layers
        if type(layer).__name__ not in ("Flatten", "Dropout")]
    for layer in result["layers"]:
        name = layer["name"].split("+")[0]
        want = expected[name]
        got = np.array(layer["values"], dtype=np.float32).reshape(want.shape)
        assert list(want.shape) == layer["shape"], name
        assert np.abs(got - want).max() <= 1e-4, (name, np.abs(got - want).max())
        if want.ndim == 3:
            assert_maps_rendered(page, layer["name"], want)
    assert result["probabilities"] == pytest.approx(expected[model.layers[-1].name].tolist(), abs=1e-4)
    headings = page.locator("[data-testid=layer][data-layer] h3").all_text_contents()
    assert len(headings) == len(result["layers"])
    for heading, layer in zip(headings, result["layers"]):
        shape = "×".join(map(str, layer["shape"]))
        assert f"{shape} · {layer['parameters']:,} parameters · " in heading, heading
        assert re.search(r"· \d+\.\d\d ms · GLSL$", heading), heading
    if any(isinstance(layer, Conv2D) for layer in model.layers):
        assert page.get_by_test_id("layer-kernel").count() == model.layers[0].filters
    save_page(page, "layers-1280.png")
    # A layer's GLSL link opens that layer's program in "Under the hood".
    first = result["layers"][0]["name"]
    page.locator(f"[data-testid=layer][data-layer='{first}'] h3 a").click()
    program = page.locator("#sources details[open] pre")
    assert page.get_by_test_id("hood").get_attribute("open") is not None
    assert "void main()" in program.first.text_content()
    assert page.locator("#sources details[open] summary").first.text_content().startswith(f"{first} —")
    page.locator("#sources details[open] > summary").first.click()  # as the other tests expect
    page.locator("#hood > summary").click()
    assert_follows_the_pen(drawing_page, result)
    page.set_viewport_size({"width": 390, "height": 900})
    try:
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways at 390 px: {width}"
        save_page(page, "layers-390.png")
    finally:
        page.set_viewport_size({"width": 1280, "height": 1000})
    page.locator("#layers > summary").click()  # close
    assert draw_and_forward(drawing_page) == plain


PREVIEW = """() => Array.from(document.querySelector('[data-testid=input-preview]')
  .getContext('2d').getImageData(0, 0, 28, 28).data).filter((_, i) => i % 4 === 0)"""


def assert_follows_the_pen(drawing_page, before: dict) -> None:
    """With the view open, a new drawing repaints it: its input is the new preview, and the
    first layer's maps (numbers and pixels) change with it."""
    page = drawing_page.page
    name = before["layers"][0]["name"]
    pixels_before = page.evaluate(MAP_PIXELS, name)
    page.get_by_test_id("clear").click()
    draw(page, place(DIGITS[0], *PLACES["centre-large"]))
    drawing_page.wait_settled()
    after = page.evaluate(LAYERS_RESULT)
    preview = np.array(page.evaluate(PREVIEW), dtype=np.float32) / 255
    assert np.abs(np.array(after["input"]["values"]) - preview).max() <= 1 / 255 + 1e-6
    assert np.abs(np.array(after["layers"][0]["values"])
                  - np.array(before["layers"][0]["values"])).max() > 0.1
    assert page.evaluate(MAP_PIXELS, name) != pixels_before


def draw_and_forward(drawing_page) -> dict:
    """Draw a 7 and return the forward counters of the predict that classified it."""
    page = drawing_page.page
    page.get_by_test_id("clear").click()
    draw(page, place(DIGITS[7], *PLACES["centre-large"]))
    drawing_page.wait_settled()
    hood = page.get_by_test_id("hood")
    return {"forward": hood.locator("#stat-forward").text_content()}


def assert_maps_rendered(page, name: str, want: np.ndarray) -> None:
    """Each channel's canvas is w x h and not blank wherever the numpy map varies."""
    pixels = page.evaluate(MAP_PIXELS, name)
    height, width, channels = want.shape
    assert len(pixels) == channels, name
    for channel, grey in enumerate(pixels):
        grey = np.array(grey).reshape(height, width)
        plane = want[..., channel]
        if np.ptp(plane) > 1e-3:
            assert np.ptp(grey) > 100, (name, channel)
            # Brightest pixel where the map is highest.
            assert plane.flat[grey.argmax()] >= plane.max() - 0.02 * np.ptp(plane), (name, channel)


def test_an_mlp_shows_its_dense_layers_only_and_no_kernels():
    model = Sequential([Flatten(), Dense(8, activation="relu"), Dense(10, activation="softmax")],
                       input_shape=(28, 28, 1), seed=0)
    model_json, shards = build_files(model)
    session = PageSession(FakeGL())
    session.load(json.dumps(model_json), shards)
    result = session.layers([0.0] * 784)
    assert [(layer["class_name"], layer["shape"]) for layer in result["layers"]] == [
        ("Dense", [8]), ("Dense", [10])]
    assert result["kernels"] is None and result["input"]["shape"] == [28, 28, 1]


def test_layers_refuses_an_image_of_the_wrong_size():
    session = small_cnn_session()
    with pytest.raises(ValueError, match=r"layers: expected one image of shape \(28, 28, 1\) "
                                         r"\(784 floats\), got 10 floats"):
        session.layers([0.0] * 10)


# -- layer_maps on real WebGL2 (Pyodide), other layer kinds -------------------------------

# Loads the model given as JSON text + one float32 shard on a GLContext over the page's
# WebGL2 context whose calls are counted by name (with `units` sampler units per gather
# draw when given), returns the second of two layer_maps of INPUTS['x'] and the
# readPixels of each refresh.
RUN_LAYER_MAPS = """
from array import array as _array
from webgl_backend.context import GLContext as _GLContext
from webgl_backend.layer_maps import layer_maps as _layer_maps
from webgl_backend.runtime import Runtime as _Runtime

class _CallsByName:
    def __init__(self, gl):
        self._gl, self.counts = gl, {{}}
    def __getattr__(self, name):
        value = getattr(self._gl, name)
        if name.isupper() or not callable(value):
            return value
        def counted(*args):
            self.counts[name] = self.counts.get(name, 0) + 1
            return value(*args)
        return counted

def _floats(data):
    values = _array("f")
    values.frombytes(data)
    return values

_gl = _CallsByName(GL)
_context = _GLContext(_gl)
_runtime = _Runtime(_context)
_model = _runtime.load_model({model_json!r}, {{{shard_name!r}: INPUTS["shard"].tobytes()}})
if {units!r}:
    _context._sampler_units = {units!r}
_reads = []
for _refresh in range(2):
    _before = _gl.counts.get("readPixels", 0)
    _maps = _layer_maps(_model, INPUTS["x"])
    _reads.append(_gl.counts.get("readPixels", 0) - _before)
_runtime.dispose()
{{"names": [layer["name"] for layer in _maps["layers"]],
  "shapes": [layer["shape"] for layer in _maps["layers"]],
  "values": [_floats(layer["values"]) for layer in _maps["layers"]],
  "probabilities": _array("f", _maps["probabilities"]),
  "gather_draws": _maps["gather"]["draws"], "reads": _reads,
  "kernels": _maps["kernels"] and _floats(_maps["kernels"]["values"])}}
"""


@pytest.mark.browser
@pytest.mark.parametrize(("kind", "units"), [("cnn-pool-leaky", None), ("cnn-pool-leaky", 2),
                                             ("mlp", None)])
def test_layer_maps_match_numpy_on_webgl_for_pooling_fused_activations_and_mlps(
        browser, static_server, kind, units):
    """Read back once per refresh, also when the gather takes a chain of draws (units=2:
    one source per draw after the first)."""
    if kind == "mlp":
        layers = [Flatten(), Dense(16, activation="relu"), Dense(10, activation="softmax")]
    else:
        layers = [Conv2D(4, 3, padding="same"), LeakyReLU(alpha=0.2), MaxPooling2D(2),
                  Conv2D(8, 3, activation="relu"), Flatten(), Dense(10, activation="softmax")]
    model = Sequential(layers, input_shape=(28, 28, 1), seed=3)
    model_json, shards = build_files(model)
    (shard_name, shard), = shards.items()
    image = np.random.default_rng(0).random((1, 28, 28, 1), dtype=np.float32)
    page = shared_pyodide_page(browser, static_server)
    got = page.run(RUN_LAYER_MAPS.format(model_json=json.dumps(model_json), shard_name=shard_name,
                                         units=units),
                   x=image, shard=np.frombuffer(shard, dtype=np.float32))
    assert got["reads"] == [1, 1]
    tensors = len(got["names"]) + (kind != "mlp")
    assert got["gather_draws"] == (tensors - 1 if units == 2 else 1)
    expected = numpy_outputs(model, image)
    by_name = {layer.name: layer for layer in model.layers}
    drawn = [layer.name for layer in model.layers if not isinstance(layer, (Flatten, LeakyReLU))]
    assert [name.split("+")[0] for name in got["names"]] == drawn
    for name, shape, values in zip(got["names"], got["shapes"], got["values"]):
        last = name.split("+")[-1]  # a fused activation: the map after it
        want = expected[last]
        assert list(want.shape) == shape, name
        assert np.abs(values.reshape(want.shape) - want).max() <= 1e-4, name
    assert np.abs(got["probabilities"] - expected[model.layers[-1].name].ravel()).max() <= 1e-4
    if kind == "mlp":
        assert got["kernels"] is None
    else:
        assert "+" in got["names"][0] and isinstance(by_name[got["names"][0].split("+")[1]], LeakyReLU)
        assert np.array_equal(got["kernels"], model.layers[0].weights["kernel"].ravel())


# -- the gather program, as text ---------------------------------------------------------

def test_gather_regions_follow_one_another_and_chains_keep_a_unit_for_the_previous_atlas():
    regions = layout_regions([((1, 26, 26, 3), 26), ((1, 10), 3), ((3, 3, 1, 3), 3)])
    assert [(r.start, r.end) for r in regions] == [(0, 676), (676, 679), (679, 688)]
    assert chunk_sources(5, 2) == [range(0, 2), range(2, 3), range(3, 4), range(4, 5)]
    assert chunk_sources(3, 16) == [range(0, 3)]
    first = layer_gather(regions, range(0, 2), 688, chained=False)
    later = layer_gather(regions, range(2, 3), 688, chained=True)
    assert first.inputs == ("source0", "source1") and later.inputs == ("previous", "source2")
    assert "if (t >= 676 && t < 679) { write_output(source1_texel(t - 676)); return; }" in first.source
    assert "write_output(vec4(0.0));" in first.source
    assert "write_output(previous_fetch(ivec2(gl_FragCoord.xy)));" in later.source
    width = first.output_width
    assert width * first.output_shape[0] >= 688 and first.output_shape[1] == 4 * width
