"""One fine-tuning step in the page on a converter file with every kind of BatchNormalization
(first in the model, folded into a Conv2D, after pooling, folded into a Dense before and
after it) equals the step tf-keras took on the same weights and batch with
`training=False` (tests/keras_corpus/make_batchnorm_step.py): gamma, beta, kernels and
biases within 1e-4, the moving statistics bit-identical. Right after the step the page
predicts with refolded weights what our reader's numpy forward of the export predicts;
after reset() the loaded weights predict again and the same step is taken again."""

from __future__ import annotations

import json

import numpy as np
import pytest

from model_export.exported import sequential_from_artifacts
from tests.export.keras_corpus import CORPUS
from tests.ops.parity import assert_close
from webgl_backend.model_format import read_model, read_model_dir

pytestmark = pytest.mark.browser

FOLDER = CORPUS / "batchnorm_step"
RATES = {"sgd": 0.1, "adam": 1e-3}


@pytest.mark.parametrize("optimizer", list(RATES))
def test_one_step_equals_the_keras_step_with_frozen_statistics(optimizer, pyodide_page,
                                                               static_server):
    keras = np.load(FOLDER / "step.npz")
    x, labels = keras["x"], keras["labels"]
    n = len(labels)
    url = f"{static_server.url}/{FOLDER.relative_to(CORPUS.parents[1]).as_posix()}"
    result = pyodide_page.run(
        "from array import array as _array\n"
        "from webgl_backend.runtime import Runtime\n"
        "from webgl_backend.training import FineTuner\n"
        "if 'BN_RUNTIME' not in globals():\n"
        "    BN_RUNTIME = Runtime(CTX)\n"
        f"_model = await BN_RUNTIME.load_model_url({json.dumps(url)})\n"
        "_tuner = FineTuner(_model)\n"
        f"_before = _model.predict(INPUTS['x'], {n})\n"
        f"_tuner.configure_training(optimizer={optimizer!r}, learning_rate={RATES[optimizer]})\n"
        f"_loss = _tuner.fit_batch(INPUTS['x'], [int(v) for v in INPUTS['labels']], {n})\n"
        f"_probs = _model.predict(INPUTS['x'], {n})\n"
        "_text, _shards = _tuner.export()\n"
        "_tuner.reset()\n"
        f"_reset = _model.predict(INPUTS['x'], {n})\n"
        f"_again = _tuner.fit_batch(INPUTS['x'], [int(v) for v in INPUTS['labels']], {n})\n"
        "_model.dispose()\n"
        "{'loss': _loss, 'probs': _probs, 'json': _text, 'reset': _reset, 'again': _again,\n"
        " 'before': _before, 'shards': {k: _array('f', v) for k, v in _shards.items()}}",
        x=x, labels=labels.astype(np.float32),
    )
    expected_loss = float(keras[f"{optimizer}/loss"])
    assert abs(result["loss"] - expected_loss) <= 1e-4 * max(1.0, expected_loss), (
        result["loss"], expected_loss)
    stepped = read_model(json.loads(result["json"]),
                         {k: v.tobytes() for k, v in result["shards"].items()})
    got = {n: np.asarray(v, np.float32).reshape(s)
           for spec in stepped.layers for n, s, v in spec.weights}
    loaded = {n: np.asarray(v, np.float32).reshape(s)
              for spec in read_model_dir(FOLDER).layers for n, s, v in spec.weights}
    assert sorted(got) == sorted(loaded)
    for name, before in loaded.items():
        want = keras[f"{optimizer}/{name}"]
        if name.endswith(("/moving_mean", "/moving_variance")):
            assert got[name].tobytes() == before.tobytes(), f"{name} must stay frozen"
            continue
        assert not np.array_equal(want, before), f"{name} did not move in Keras"
        assert_close(f"{optimizer} step: {name}", got[name], want, atol=1e-4, rtol=0)
    numpy_probs = sequential_from_artifacts(stepped).predict(x)
    assert_close("predictions after the step (refolded)", result["probs"], numpy_probs.ravel(),
                 atol=1e-4, rtol=0)
    # reset(): the loaded weights predict again, and the same step is taken again from them.
    assert_close("predictions after reset()", result["reset"], result["before"], 1e-6, 0)
    assert result["again"] == pytest.approx(result["loss"], abs=1e-6)
