"""A BatchNormalization the page cannot fold (after a nonlinear activation, with no Dense
after it) draws `channel_affine`; in the page it predicts what numpy predicts, over NHWC
and flat inputs, with moving statistics a trained model would have."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from model_export.export import export_model
from model_export.layers import BatchNormalization, Conv2D, Dense, Flatten, Softmax
from model_export.model import Sequential
from tests.ops.parity import assert_close

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[2]
FOLDER = REPO_ROOT / "build" / "test_models" / "channel_affine"


def _unfoldable_model() -> Sequential:
    model = Sequential([Conv2D(4, 3, activation="tanh"), BatchNormalization(), Flatten(),
                        Dense(6, activation="relu"), BatchNormalization(center=False),
                        Softmax()], input_shape=(6, 5, 2), seed=5)
    rng = np.random.default_rng(5)
    for layer in (model.layers[1], model.layers[4]):
        for key, values in layer.weights.items():
            low = 0.5 if key in ("gamma", "moving_variance") else -0.5
            values[...] = rng.uniform(low, low + 1.0, values.shape)
    return model


def test_unfolded_batch_norms_predict_as_numpy(pyodide_page, static_server):
    model = _unfoldable_model()
    folder = export_model(model, FOLDER)
    x = np.random.default_rng(6).standard_normal((3, 6, 5, 2)).astype(np.float32)
    url = f"{static_server.url}/{folder.relative_to(REPO_ROOT).as_posix()}"
    result = pyodide_page.run(
        "from webgl_backend.runtime import Runtime\n"
        "_runtime = Runtime(CTX)\n"
        f"_model = await _runtime.load_model_url({json.dumps(url)})\n"
        "_kinds = [op.kind for op in _model.ops]\n"
        "_probs = _model.predict(INPUTS['x'], 3)\n"
        "_runtime.dispose()\n"
        "{'probs': _probs, 'kinds': _kinds}",
        x=x,
    )
    assert list(result["kinds"]) == ["conv2d", "channel_affine", "view", "dense",
                                     "channel_affine", "activation"]
    assert_close("unfolded BatchNormalization probabilities", result["probs"],
                 model.predict(x).ravel(), 1e-5, 1e-4)
