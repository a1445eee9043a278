"""TensorFlow.js 4.22 (cpu backend, in headless Chromium) as the oracle for the Keras layers:

- it loads every corpus file and predicts what Keras predicted (so the corpus is what TF.js
  users have), except the two settings TF.js cannot compute, which our exporter refuses;
- it loads our export of a model with every new layer class and predicts what numpy does;
- a converter-made Keras model fine-tuned in the page and exported by the page loads in
  TF.js and in our reader, and both predict what the page predicted.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from model_export.data import load_split
from model_export.export import export_model, write_folder
from tests.browser.test_tfjs_oracle import EXPORT_ROOT as ORACLE_ROOT
from tests.browser.test_tfjs_oracle import assert_agrees, tfjs_predict
from tests.export.keras_corpus import CORPUS, corpus_models
from tests.export.test_export_keras_layers import every_new_layer_model
from webgl_backend.model_format import read_model_dir

pytestmark = pytest.mark.browser

EXPORT_ROOT = ".cache/test-exports/keras-layers"
# TF.js 4.22's ReLU reads only max_value; its ELU refuses alpha != 1.
TFJS_CANNOT = {"relu_variants": "differs", "elu_softmax": "refuses"}


@pytest.fixture(scope="module")
def blank_page_root(repo_root):
    root = repo_root / EXPORT_ROOT
    root.mkdir(parents=True, exist_ok=True)
    (root / "blank.html").write_text("<!doctype html><title>keras layers oracle</title>")
    oracle = repo_root / ORACLE_ROOT  # tfjs_predict opens its blank page there
    oracle.mkdir(parents=True, exist_ok=True)
    (oracle / "blank.html").write_text("<!doctype html><title>tfjs oracle</title>")
    return root


def _predict(page, static_server, folder, x):
    """tfjs_predict, whose page lives under tfjs_oracle's folder; ours under EXPORT_ROOT."""
    return tfjs_predict(page, static_server, folder.relative_to(CORPUS.parents[1]).as_posix(),
                        x, "cpu")


@pytest.mark.parametrize("model", [m for m in corpus_models() if m.name not in TFJS_CANNOT],
                         ids=lambda m: m.name)
def test_tfjs_predicts_what_keras_predicted(model, page, static_server, blank_page_root):
    theirs = _predict(page, static_server, model.folder, model.inputs)
    assert_agrees(model.probabilities, theirs, 1e-4)


def test_tfjs_cannot_run_the_relu_and_elu_settings_our_exporter_refuses(page, static_server,
                                                                        blank_page_root):
    models = {m.name: m for m in corpus_models()}
    relu = models["relu_variants"]
    theirs = _predict(page, static_server, relu.folder, relu.inputs)
    assert np.abs(theirs - relu.probabilities).max() > 1e-3  # negative_slope/threshold ignored
    with pytest.raises(Exception, match="Non-default alpha value"):
        _predict(page, static_server, models["elu_softmax"].folder, models["elu_softmax"].inputs)


def test_tfjs_loads_our_export_of_every_new_layer(page, static_server, blank_page_root):
    model = every_new_layer_model()
    folder = export_model(model, blank_page_root / "every-new-layer")
    x = np.random.default_rng(6).uniform(0, 1, (32, 7, 9, 1)).astype(np.float32)
    theirs = _predict(page, static_server, folder, x)
    assert_agrees(model.predict(x), theirs, 1e-5)


_FINE_TUNE = """
from array import array as _array
from webgl_backend.runtime import Runtime
from webgl_backend.training import FineTuner
_runtime = Runtime(CTX)
TUNED = await _runtime.load_model_url(BASE_URL)
_tuner = FineTuner(TUNED)
_before = TUNED.predict(INPUTS['test'], N_TEST)
_tuner.configure_training(optimizer='adam', learning_rate=0.002)
_history = _tuner.fit(INPUTS['x'], [int(v) for v in INPUTS['labels']], N_TRAIN, epochs=3,
                      batch_size=32, shuffle_seed=1)
_after = TUNED.predict(INPUTS['test'], N_TEST)
_text, _shards = _tuner.export()
TUNED.dispose()
{'before': _before, 'after': _after, 'history': _history, 'json': _text,
 'shards': {k: _array('f', v) for k, v in _shards.items()}}
"""


@pytest.mark.parametrize("name", ["keras_io_mnist", "mnist_batchnorm"])
def test_a_converted_keras_model_fine_tuned_in_the_page_loads_in_tfjs_and_our_reader(
        name, page, pyodide_page, static_server, blank_page_root):
    """mnist_batchnorm trains gamma and beta with the moving statistics frozen, as Keras
    fine-tunes: the export has the same statistics and new gamma, beta and kernels."""
    base = CORPUS / name
    test = load_split("test")
    # Fine-tuned and then predicted on the same 64 images: their loss must fall.
    x, labels = test.x[:64], test.y[:64]
    test_x = x
    url = f"{static_server.url}/{base.relative_to(CORPUS.parents[1]).as_posix()}"
    code = (_FINE_TUNE.replace("BASE_URL", json.dumps(url)).replace("N_TEST", "64")
            .replace("N_TRAIN", "64"))
    result = pyodide_page.run(code, x=x, labels=labels.astype(np.float32), test=test_x)
    after, before = result["after"].reshape(-1, 10), result["before"].reshape(-1, 10)

    def loss(probs):
        return float(-np.mean(np.log(probs[np.arange(64), labels] + 1e-12)))

    assert loss(after) < loss(before), (loss(before), loss(after), result["history"])
    files = {"model.json": result["json"].encode("utf-8"),
             **{name: v.astype("<f4").tobytes() for name, v in result["shards"].items()}}
    folder = write_folder(blank_page_root / f"{name}-tuned", files)
    saved = json.loads(files["model.json"])
    assert "model_config" in saved["modelTopology"]  # the converter's topology, kept
    tuned = read_model_dir(folder)
    assert tuned.name == "sequential"
    loaded = {n: np.asarray(v) for s in read_model_dir(base).layers for n, _, v in s.weights}
    for spec in tuned.layers:
        for weight, _, values in spec.weights:
            same = np.array_equal(np.asarray(values), loaded[weight])
            if weight.endswith(("/moving_mean", "/moving_variance")):
                assert same, f"{weight} must stay frozen"
            elif weight.endswith(("/kernel", "/gamma", "/beta")):
                assert not same, f"{weight} did not train"
    assert_agrees(after, _predict(page, static_server, folder, test_x), 1e-5)
