"""Every Keras corpus model (official converter and TF.js model.save() files) on the GPU in
the page: loaded over HTTP with `Runtime.load_model_url`, its predictions match the
probabilities Keras (or TF.js) computed: argmax identical, max abs difference <= 1e-4.

BatchNormalization is folded into a neighbouring Dense/Conv2D where it can be, so the
draw counts are checked too."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.export.keras_corpus import corpus_models
from tests.ops.parity import assert_close

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS = corpus_models()
# Draws per forward pass; a folded BatchNormalization adds none.
EXPECTED_DRAWS = {"conv_batchnorm": 4, "mnist_batchnorm": 5, "dense_batchnorm": 3,
                  "tfjs_saved/sequential": 5}


def _page_predict(pyodide_page, static_server, folder: Path, images: np.ndarray) -> dict:
    url = f"{static_server.url}/{folder.relative_to(REPO_ROOT).as_posix()}"
    return pyodide_page.run(
        "from webgl_backend.runtime import Runtime\n"
        "if 'RUNTIME' not in globals():\n"
        "    RUNTIME = Runtime(CTX)\n"
        f"_model = await RUNTIME.load_model_url({json.dumps(url)})\n"
        f"_probs = _model.predict(INPUTS['images'], {len(images)})\n"
        "{'probs': _probs, 'forward': _model.last_forward}",
        images=images,
    )


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_page_runtime_matches_keras(model, pyodide_page, static_server):
    result = _page_predict(pyodide_page, static_server, model.folder, model.inputs)
    probs = np.asarray(result["probs"], np.float32).reshape(model.probabilities.shape)
    np.testing.assert_array_equal(probs.argmax(1), model.probabilities.argmax(1))
    assert_close(f"{model.name} probabilities", probs, model.probabilities, atol=1e-4, rtol=0.0)
    if model.name in EXPECTED_DRAWS:
        assert result["forward"]["draws"] == EXPECTED_DRAWS[model.name]
