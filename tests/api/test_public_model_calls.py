"""The Model calls the drawing page needs, through the public module (static/shadernet.mjs)
on examples/index.html served by a plain static server: layerMaps against model_export's
numpy forward, fit with jittered copies and replay sets (arrays, or a file in our replay
format at a URL), reset back to the loaded weights, lastRun's counters, info's live GL
objects, and the error codes of these calls."""

from __future__ import annotations

import numpy as np
import pytest

from model_export.data import load_split
from tests.api.test_public_module import BAD_MODELS, b64, build_wheel, open_example
from tests.e2e.test_layers_view import numpy_outputs

pytestmark = pytest.mark.browser

_DECODE = ("const floats = (text) => new Float32Array(Uint8Array.from(atob(text), "
           "(c) => c.charCodeAt(0)).buffer);")

# A fresh model of its own per test, so that fine-tuning one test leaves the others alone.
_FRESH = 'const { loadModel } = await import("/static/shadernet.mjs"); ' \
         'const model = await loadModel("../models/default/model.json");'

_OUTCOME = """const outcome = async (promise) => { try { await promise; return null; }
    catch (error) { return { name: error.name, code: error.code, message: error.message }; } };"""


@pytest.fixture(scope="module")
def example(browser, static_server):
    build_wheel()
    context, page = open_example(browser, static_server)
    yield page
    context.close()


@pytest.fixture(scope="module")
def numpy_model(repo_root):
    from model_export.exported import load_exported
    return load_exported(repo_root / "models" / "default")


def test_layer_maps_are_the_numpy_layer_outputs_and_the_same_prediction(example, numpy_model):
    image = load_split("test").x[:1]
    result = example.evaluate(f"""async (image) => {{ {_DECODE} {_FRESH}
        const maps = await model.layerMaps(floats(image));
        const plain = Array.from(await model.predict(floats(image), 1));
        const plain_run = model.lastRun;
        await model.dispose();
        const array = (part) => part && {{ ...part, values: Array.from(part.values) }};
        return {{ plain, plain_run, probabilities: Array.from(maps.probabilities),
                 typed: maps.layers.every((layer) => layer.values instanceof Float32Array),
                 input: array(maps.input), kernels: array(maps.kernels),
                 layers: maps.layers.map(array), forward: maps.forward }};
    }}""", b64(image))
    expected = numpy_outputs(numpy_model, image)
    assert result["typed"]
    assert [layer["name"].split("+")[0] for layer in result["layers"]] == [
        layer.name for layer in numpy_model.layers
        if type(layer).__name__ not in ("Flatten", "Dropout")]
    for layer in result["layers"]:
        want = expected[layer["name"].split("+")[0]]
        got = np.array(layer["values"], np.float32).reshape(want.shape)
        assert np.abs(got - want).max() <= 1e-4, layer["name"]
    assert np.abs(np.array(result["probabilities"]) - np.array(result["plain"])).max() <= 1e-6
    assert result["forward"]["draws"] == result["plain_run"]["forward"]["draws"] > 0
    assert result["plain_run"]["ms"] > 0 and result["plain_run"]["forward"]["gl_calls"] > 0
    assert len(result["kernels"]["values"]) == int(np.prod(result["kernels"]["shape"]))


def test_fit_with_copies_and_a_replay_set_then_reset_gives_the_loaded_predictions(example):
    train, test = load_split("train"), load_split("test")
    mine, labels = train.x[:8], [int(v) for v in train.y[:8]]
    replay, replay_labels = train.x[100:140], [int(v) for v in train.y[100:140]]
    result = example.evaluate(f"""async ([mine, labels, replay, replayLabels, probe]) => {{
        {_DECODE} {_FRESH}
        const before = Array.from(await model.predict(floats(probe), 16));
        const reports = [];
        const history = await model.fit(floats(mine), labels, 8, {{
            epochs: 1, batchSize: 16, lr: 0.01, copies: 3,
            replay: {{ images: floats(replay), labels: replayLabels, n: 40 }},
            onProgress: (report) => reports.push(report) }});
        const tuned = Array.from(await model.predict(floats(probe), 16));
        await model.reset();
        const reset = Array.from(await model.predict(floats(probe), 16));
        const info = await model.info();
        await model.dispose();
        return {{ before, tuned, reset, history, reports, live: info.context.live_textures }};
    }}""", [b64(mine), labels, b64(replay), replay_labels, b64(test.x[:16])])
    history = result["history"]
    assert history["samples"] == 8 + 8 * 3 + 40
    assert history["steps"] == 5 and len(result["reports"]) == 5  # ceil(72 / 16)
    assert history["options"]["copies"] == 3 and history["options"]["learning_rate"] == 0.01
    last = result["reports"][-1]
    assert (last["step"], last["total"]) == (5, 5) and last["draws"] > 0 and last["gl_calls"] > 0
    assert np.abs(np.array(result["tuned"]) - np.array(result["before"])).max() > 1e-3
    assert np.abs(np.array(result["reset"]) - np.array(result["before"])).max() <= 1e-6
    assert result["live"] > 0


def test_a_replay_url_in_our_replay_format_is_fetched_and_mixed_in(example, repo_root):
    train = load_split("train")
    folder = repo_root / BAD_MODELS
    folder.mkdir(parents=True, exist_ok=True)
    # GET /api/replay's body: n*784 float32 pixels, then n uint8 labels (the static
    # server ignores the ?count= the module adds).
    body = train.x[:24].astype("<f4").tobytes() + train.y[:24].astype(np.uint8).tobytes()
    (folder / "replay.bin").write_bytes(body)
    result = example.evaluate(f"""async (image) => {{ {_DECODE} {_FRESH} {_OUTCOME}
        const fit = (replay) => model.fit(floats(image), [3], 1, {{ epochs: 1, batchSize: 25, replay }});
        const history = await fit({{ url: "/{BAD_MODELS}/replay.bin", count: 24 }});
        const missing = await outcome(fit({{ url: "/{BAD_MODELS}/nowhere.bin", count: 5 }}));
        const malformed = await outcome(fit({{ images: [] }}));
        await model.dispose();
        return {{ samples: history.samples, missing, malformed }};
    }}""", b64(train.x[500:501]))
    assert result["samples"] == 1 + 24
    assert result["missing"]["code"] == "fetch" and "HTTP 404" in result["missing"]["message"]
    assert "nowhere.bin?count=5" in result["missing"]["message"]
    assert result["malformed"]["code"] == "argument"
    assert "{url, count} or {images, labels, n}" in result["malformed"]["message"]


def test_the_new_calls_reject_with_documented_codes(example):
    result = example.evaluate(f"""async () => {{ {_FRESH} {_OUTCOME}
        const shape = await outcome(model.layerMaps(new Float32Array(10)));
        const option = await outcome(model.fit(new Float32Array(784), [1], 1, {{ momentum: 2 }}));
        const label = await outcome(model.fit(new Float32Array(784), [12], 1, {{}}));
        await model.dispose();
        return {{ shape, option, label, reset: await outcome(model.reset()),
                 maps: await outcome(model.layerMaps(new Float32Array(784))) }};
    }}""")
    assert result["shape"]["code"] in ("shape", "argument"), result["shape"]
    assert result["shape"]["name"] == "ArgumentError"
    assert result["option"]["code"] == "argument" and "unknown training option" in result["option"]["message"]
    assert "momentum" in result["option"]["message"]
    assert result["label"]["code"] == "argument" and "digits 0..9" in result["label"]["message"]
    for key in ("reset", "maps"):
        assert result[key]["code"] == "argument" and "disposed" in result[key]["message"], key
