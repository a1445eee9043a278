"""The parity suite of the layer table: every parity case of every entry, in the page vs
numpy. Per case the model of `layer_cases.sample_model` (a trainable layer, the layer
under test, a softmax head) is exported, loaded by the page's runtime, and checked twice:
the forward pass (probabilities of 3 samples) and one SGD step of fine-tuning (loss and
every updated weight, so the layer's dx is checked through the layer before it).
A BatchNormalization trains gamma and beta with its moving statistics frozen, as numpy's
inference-mode backward does; the statistics are expected back unchanged.

The cases come from the table (`webgl_backend.layers.LAYERS[...].parity`); a new entry
gets these tests by being added, and `tests/codegen/test_layer_table.py` fails when an
entry has no case.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest

from model_export.export import build_files, write_folder
from model_export.nn.losses import softmax_cross_entropy_backward, softmax_cross_entropy_forward
from tests.ops.layer_cases import CLASSES, sample_model, with_input_layer
from tests.ops.parity import assert_close
from webgl_backend.layers import LAYERS

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[2]
CASES_DIR = REPO_ROOT / "build" / "test_models" / "layer_table"
BATCH = 3
LEARNING_RATE = 0.1
CASES = [(entry, index, case) for entry in LAYERS.values()
         for index, case in enumerate(entry.parity)]


def _numpy_step(model, x: np.ndarray, labels: np.ndarray) -> tuple[float, list[np.ndarray]]:
    """One SGD step as the page takes it: dropout off (the identity), loss from logits."""
    logits = model.forward(x, training=False, logits=True)
    loss, probs = softmax_cross_entropy_forward(logits, labels)
    model.backward(softmax_cross_entropy_backward(probs, labels), from_logits=True)
    updated = [(p - np.float32(LEARNING_RATE) * g).astype(np.float32)
               for p, g in zip(model.parameters(), model.gradients())]
    return float(loss), updated


def _batch_norm_step(model, x: np.ndarray, labels: np.ndarray
                     ) -> tuple[float, list[np.ndarray]]:
    """The page's step of a model with a BatchNormalization: gamma and beta train with the
    moving statistics frozen (numpy's inference-mode backward), which stay in their place
    in the file's weights."""
    loss, updated = _numpy_step(model, x, labels)
    trained = iter(updated)
    return loss, [value.copy() if key in layer.non_trainable_weights else next(trained)
                  for layer in model.layers for key, value in layer.weights.items()]


def _export(entry, index, model) -> Path:
    model_json, shards = build_files(model)
    if entry.class_name == "InputLayer":
        model_json = with_input_layer(model_json)
    folder = CASES_DIR / f"{entry.class_name}-{index}"
    return write_folder(folder, {"model.json": json.dumps(model_json).encode(), **shards})


@pytest.mark.parametrize("entry,index,case", CASES,
                         ids=[f"{e.class_name}-{c.id}" for e, _, c in CASES])
def test_layer_matches_numpy_forward_and_one_training_step(pyodide_page, static_server, entry,
                                                           index, case):
    rng = np.random.default_rng(zlib.crc32(f"{entry.class_name}-{case.id}".encode()))
    model = sample_model(entry, case, seed=index + 1)
    if entry.class_name == "BatchNormalization":  # statistics as a trained model has them
        for key, values in model.layers[1].weights.items():
            low = 0.5 if key in ("gamma", "moving_variance") else -0.5
            values[...] = rng.uniform(low, low + 1.0, values.shape)
    x = rng.standard_normal((BATCH, *case.input_shape)).astype(np.float32)
    labels = np.arange(BATCH) % CLASSES
    folder = _export(entry, index, model)
    expected_probs = model.predict(x)
    step = _batch_norm_step if entry.class_name == "BatchNormalization" else _numpy_step
    expected_loss, expected_weights = step(model, x, labels)
    url = f"{static_server.url}/{folder.relative_to(REPO_ROOT).as_posix()}"
    result = pyodide_page.run(
        "from array import array as _array\n"
        "from webgl_backend.runtime import Runtime\n"
        "from webgl_backend.training import FineTuner\n"
        "from webgl_backend.model_format import read_model as _read\n"
        "_runtime = Runtime(CTX)\n"
        f"_model = await _runtime.load_model_url({json.dumps(url)})\n"
        f"_probs = _model.predict(INPUTS['x'], {BATCH})\n"
        "_tuner = FineTuner(_model)\n"
        f"_tuner.configure_training(optimizer='sgd', learning_rate={LEARNING_RATE})\n"
        f"_loss = _tuner.fit_batch(INPUTS['x'], [int(v) for v in INPUTS['labels']], {BATCH})\n"
        "_text, _shards = _tuner.export()\n"
        "_weights = [_array('f', values) for layer in _read(_text, _shards).layers\n"
        "            for _, _, values in layer.weights]\n"
        "_runtime.dispose()\n"
        "{'probs': _probs, 'loss': _loss, 'weights': _weights}",
        x=x, labels=labels.astype(np.float32),
    )
    what = f"{entry.class_name} [{case.id}]"
    assert_close(f"{what} probabilities", result["probs"], expected_probs.ravel(), 1e-5, 1e-4)
    assert abs(result["loss"] - expected_loss) <= 1e-5 + 1e-4 * abs(expected_loss), (
        f"{what} loss: page {result['loss']}, numpy {expected_loss}")
    assert len(result["weights"]) == len(expected_weights)
    for position, (got, want) in enumerate(zip(result["weights"], expected_weights)):
        assert_close(f"{what} weight {position} after one SGD step", got, want.ravel(),
                     1e-5, 1e-4)
