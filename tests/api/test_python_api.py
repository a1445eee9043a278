"""The Python API for Pyodide users, run as README's "Use it in your own page" shows it, in
a bare Pyodide page (tests/browser/pyodide_page.html: Pyodide, our wheel installed with
`pyodide.loadPackage(url)`, no worker of ours), on a WebGL2 context of a canvas the page
makes: load the default model from bytes, predict MNIST (numpy's argmax), fine-tune,
export (the reader accepts the files)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from model_export.data import load_split
from model_export.exported import load_exported
from webgl_backend.model_format import read_model

pytestmark = pytest.mark.browser

IMAGES = 64

# README's example, with INPUTS (the harness's float arrays) for the images.
README_EXAMPLE = """
import js
from pyodide.http import pyfetch
from webgl_backend.runtime import Runtime
from webgl_backend.training import FineTuner

gl = js.document.createElement("canvas").getContext("webgl2")   # or an OffscreenCanvas's
runtime = Runtime(gl)
text = await (await pyfetch("/models/default/model.json")).string()
shard = await (await pyfetch("/models/default/group1-shard1of1.bin")).bytes()
model = runtime.load_model(text, {"group1-shard1of1.bin": shard})
probabilities = model.predict(images, n)           # n*784 floats in, n*10 out

tuner = FineTuner(model)
tuner.configure_training(optimizer="adam", learning_rate=0.002)
losses = tuner.fit(images, labels, n, epochs=1, batch_size=32)
model_json, shards = tuner.export()                # TF.js layers files, fine-tuned
"""


def test_the_readme_python_example_predicts_fine_tunes_and_exports(pyodide_page, repo_root):
    test = load_split("test")
    x, labels = test.x[:IMAGES], test.y[:IMAGES]
    result = pyodide_page.run(
        f"images, labels, n = INPUTS['x'], [int(v) for v in INPUTS['labels']], {IMAGES}\n"
        + README_EXAMPLE
        + "_out = {'probabilities': probabilities, 'losses': losses, 'json': model_json,\n"
          "        'shards': {k: bytes(v).hex() for k, v in shards.items()}}\n"
          "model.dispose()\n"
          "_out",
        x=x, labels=labels.astype(np.float32))
    ours = result["probabilities"].reshape(-1, 10)
    theirs = load_exported(repo_root / "models" / "default").predict(x)
    assert (ours.argmax(1) == theirs.argmax(1)).all()
    assert len(result["losses"]) == IMAGES // 32 and np.isfinite(result["losses"]).all()
    shards = {name: bytes.fromhex(data) for name, data in result["shards"].items()}
    exported = read_model(result["json"], shards)
    assert [spec.class_name for spec in exported.layers] == [
        layer["class_name"] for layer in
        json.loads((repo_root / "models/default/model.json").read_text())
        ["modelTopology"]["config"]["layers"]]
