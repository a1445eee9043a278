"""The reader, unchanged, inside Pyodide: same weights as CPython, and quick on ~1 MB."""

from __future__ import annotations

import numpy as np
import pytest

from model_export.export import export_model
from model_export.layers import Dense, Flatten
from model_export.model import Sequential
from webgl_backend.model_format import read_model_dir

pytestmark = pytest.mark.browser

EXPORT_ROOT = ".cache/test-exports/pyodide-reader"
READ_IN_PYODIDE = """
import time
from array import array
from pyodide.http import pyfetch
from webgl_backend.model_format import parse_model_json, read_model, shard_paths

base = "{base}"
model_json = parse_model_json(await (await pyfetch(base + "/model.json")).bytes())
shards = {{p: await (await pyfetch(base + "/" + p)).bytes() for p in shard_paths(model_json)}}
started = time.perf_counter()
artifacts = read_model(model_json, shards)
seconds = time.perf_counter() - started
values = array("f")
for layer in artifacts.layers:
    for _, _, weight in layer.weights:
        values.extend(weight)
{{"seconds": seconds, "values": values, "shard_bytes": sum(len(s) for s in shards.values())}}
"""


@pytest.fixture(scope="module")
def exports(repo_root):
    rng = np.random.default_rng(0)
    model = Sequential([Flatten(), Dense(640, activation="relu"), Dense(10, activation="softmax")],
                       input_shape=(28, 28, 1), seed=0)
    model.set_weights([rng.standard_normal(v.shape).astype(np.float32) * 0.1
                       for _, v in model.get_weights()])
    return {kind: export_model(model, repo_root / EXPORT_ROOT / kind,
                               quantize=None if kind == "float32" else kind)
            for kind in ("float32", "float16", "uint8")}


@pytest.mark.parametrize("kind", ["float32", "float16", "uint8"])
def test_pyodide_reads_the_same_weights_as_cpython_quickly(kind, exports, pyodide_page,
                                                           static_server):
    expected = np.concatenate([values for layer in read_model_dir(exports[kind]).layers
                               for _, _, values in layer.weights])
    base = f"{static_server.url}/{EXPORT_ROOT}/{kind}"
    result = pyodide_page.run(READ_IN_PYODIDE.format(base=base))
    np.testing.assert_array_equal(result["values"], np.frombuffer(expected, np.float32))
    print(f"{kind}: {result['shard_bytes']:,} shard bytes read in {result['seconds'] * 1e3:.0f} ms")
    assert result["seconds"] < 5.0, "reading ~1 MB should take well under a second"
