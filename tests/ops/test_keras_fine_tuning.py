"""One fine-tuning step in the page vs numpy for models with the new layer classes that
have backward programs: ZeroPadding2D, ReLU with a cap, global average and max pooling,
and a converter file whose ReLUs use max_value, negative_slope and threshold."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from model_export.export import export_model
from model_export.exported import load_exported
from model_export.layers import (
    ELU,
    Conv2D,
    Dense,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    ReLU,
    ZeroPadding2D,
)
from model_export.model import Sequential
from model_export.nn import optimizers as opt
from tests.export.keras_corpus import CORPUS
from tests.ops.parity import assert_close
from webgl_backend.model_format import read_model

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = REPO_ROOT / "build" / "test_models"


def padded_average_model() -> Sequential:
    return Sequential([ZeroPadding2D(((1, 2), (0, 1))), Conv2D(5, 3, strides=2),
                       ReLU(max_value=0.8), Conv2D(6, 2, activation="relu"),
                       GlobalAveragePooling2D(), Dense(10, activation="softmax")],
                      input_shape=(9, 8, 1), seed=4)


def global_max_model() -> Sequential:
    return Sequential([Conv2D(7, 3), ELU(), ZeroPadding2D(1), Conv2D(5, 3, padding="same"),
                       GlobalMaxPooling2D(), Dense(10, activation="softmax")],
                      input_shape=(8, 8, 1), seed=5)


def _folder(name: str, build) -> Path:
    folder = MODELS_DIR / name
    if not (folder / "model.json").is_file():
        export_model(build(), folder)
    return folder


FOLDERS = {
    "zero_padding+relu_cap+global_average": lambda: _folder("keras_pad_gap_seed4",
                                                            padded_average_model),
    "elu+global_max": lambda: _folder("keras_elu_gmp_seed5", global_max_model),
    "converter relu_variants": lambda: CORPUS / "relu_variants",
}


@pytest.mark.parametrize("name", list(FOLDERS))
def test_one_sgd_step_matches_numpy(name, pyodide_page, static_server):
    folder = FOLDERS[name]()
    reference = load_exported(folder)
    rng = np.random.default_rng(9)
    x = rng.uniform(0, 1, (12, *reference.input_shape)).astype(np.float32)
    labels = rng.integers(0, 10, 12)
    loss, _ = reference.train_step_gradients(x, labels)
    opt.get_optimizer("sgd", learning_rate=0.5).apply(reference.parameters(),
                                                       reference.gradients())
    url = f"{static_server.url}/{folder.relative_to(REPO_ROOT).as_posix()}"
    result = pyodide_page.run(
        "from array import array as _array\n"
        "from webgl_backend.runtime import Runtime\n"
        "from webgl_backend.training import FineTuner\n"
        "if 'RUNTIME' not in globals():\n"
        "    RUNTIME = Runtime(CTX)\n"
        f"_model = await RUNTIME.load_model_url({json.dumps(url)})\n"
        "_tuner = FineTuner(_model)\n"
        "_tuner.configure_training(optimizer='sgd', learning_rate=0.5)\n"
        "_loss = _tuner.fit_batch(INPUTS['x'], [int(v) for v in INPUTS['labels']], 12)\n"
        "_text, _shards = _tuner.export()\n"
        "{'loss': _loss, 'json': _text, 'shards': {k: _array('f', v) for k, v in "
        "_shards.items()}}",
        x=x, labels=labels.astype(np.float32),
    )
    assert abs(result["loss"] - loss) <= 1e-4 * max(1.0, abs(loss)), (result["loss"], loss)
    stepped = read_model(json.loads(result["json"]),
                         {k: v.tobytes() for k, v in result["shards"].items()})
    got = {n: np.asarray(v).reshape(s) for spec in stepped.layers for n, s, v in spec.weights}
    before = dict(load_exported(folder).get_weights())
    for weight, expected in reference.get_weights():
        assert not np.array_equal(expected, before[weight]), f"{weight} did not move in numpy"
        assert_close(f"{name}: weight {weight}", got[weight], expected, atol=1e-4, rtol=1e-4)
