"""What the browser tests of training from scratch share: a ScratchSession on the shared
Pyodide page with MNIST fetched as uint8 bytes (the idx files of .cache/mnist/), its export
read back, and the module fixture that frees it."""

from __future__ import annotations

import json

import numpy as np
import pytest


@pytest.fixture(scope="module", autouse=True)
def no_scratch_session_left(pyodide_page):
    """The page is shared by the whole test session: free this module's GPU objects after it,
    and prove that dispose() frees every one of them."""
    before = pyodide_page.run("CTX.live_textures")
    yield
    left = pyodide_page.run(
        "_left = None\n"
        "if 'SCRATCH' in globals():\n"
        "    SCRATCH.dispose()\n"
        "    del SCRATCH\n"
        "    _left = CTX.live_textures\n"
        "_left")
    assert left in (None, before), f"ScratchSession.dispose() left {left} textures (had {before})"


class GivenMask:
    """Stands in for a numpy Dropout layer's generator: `random()` answers 1.0 where the
    GPU kept an element and 0.0 where it dropped it, so numpy's rule `u >= rate` rebuilds
    exactly the GPU's mask (0 < rate < 1)."""

    def __init__(self, mask: np.ndarray) -> None:
        self.mask = mask

    def random(self, shape, dtype=np.float32):
        assert tuple(shape) == self.mask.shape, (shape, self.mask.shape)
        return (self.mask > 0).astype(dtype)


def load_data(pyodide_page, static_server, n_train: int, n_test: int) -> None:
    """SCRATCH (a ScratchSession on the shared context) with MNIST fetched as uint8."""
    base = f"{static_server.url}/.cache/mnist"
    pyodide_page.run(
        "from pyodide.http import pyfetch\n"
        "from webgl_backend.scratch import ScratchSession\n"
        "async def _idx(name, header, count, size):\n"
        f"    data = await (await pyfetch({base!r} + '/' + name)).bytes()\n"
        "    return data[header:header + count * size]\n"
        f"_train_x = await _idx('train-images-idx3-ubyte', 16, {n_train}, 784)\n"
        f"_train_y = await _idx('train-labels-idx1-ubyte', 8, {n_train}, 1)\n"
        f"_test_x = await _idx('t10k-images-idx3-ubyte', 16, {n_test}, 784)\n"
        f"_test_y = await _idx('t10k-labels-idx1-ubyte', 8, {n_test}, 1)\n"
        "if 'SCRATCH' not in globals():\n"
        "    SCRATCH = ScratchSession(CTX)\n"
        f"SCRATCH.set_data(_train_x, _train_y, {n_train}, _test_x, _test_y, {n_test})\n"
    )


def exported_files(pyodide_page) -> tuple[dict, dict]:
    result = pyodide_page.run(
        "from array import array as _array\n"
        "_files = SCRATCH.export()\n"
        "{'json': _files['model_json'],\n"
        " 'shards': {k: _array('f', v) for k, v in _files['shards'].items()}}")
    return json.loads(result["json"]), {k: v.tobytes() for k, v in result["shards"].items()}
