"""Training from scratch in the page (webgl_backend.scratch) on WebGL2, as a person runs it:

- the softmax and the five-layer ReLU MLP learn MNIST to the issue's bars;
- a seed repeats a run exactly; 1,000 steps grow no GPU objects; stop keeps the best;
- bad options are refused; a drawing model on the same context is left alone; the export
  loads in the drawing view and in TF.js.

(One step against numpy: test_scratch_steps.py.)
"""

from __future__ import annotations

import base64

import numpy as np
import pytest

from model_export.data import load_split
from model_export.export import write_folder
from tests.browser.scratch_support import (  # noqa: F401 - the module fixture
    load_data,
    no_scratch_session_left,
)
from tests.browser.test_tfjs_finetuned import _TFJS_PREDICT
from tests.ops.parity import assert_close

pytestmark = pytest.mark.browser


def _run(pyodide_page, name: str, options: dict, evaluate: int) -> dict:
    return pyodide_page.run(
        "import time\n"
        f"SCRATCH.create({name!r}, seed=0)\n"
        "_events = []\n"
        "_started = time.perf_counter()\n"
        f"_result = await SCRATCH.train({options!r}, _events.append)\n"
        "_train_s = time.perf_counter() - _started\n"
        f"_report = SCRATCH.evaluate({evaluate})\n"
        "{'result': _result, 'report': _report, 'train_s': _train_s,\n"
        " 'batches': [e for e in _events if e['kind'] == 'batch']}")


@pytest.mark.slow
def test_softmax_learns_mnist_in_one_epoch(pyodide_page, static_server):
    load_data(pyodide_page, static_server, 11000, 2000)
    out = _run(pyodide_page, "softmax", {"optimizer": "adam", "learning_rate": 0.003,
                                         "batch_size": 100, "epochs": 1, "train_images": 11000,
                                         "validation_images": 1000}, 2000)
    report, batches = out["report"], out["batches"]
    print(f"softmax: {report['accuracy']:.1%} on 2,000 test images after 100 steps in "
          f"{out['train_s']:.1f} s ({batches[-1]['images_per_s']:.0f} images/s)")
    assert len(batches) == 100 and out["result"]["epochs_done"] == 1
    assert report["accuracy"] >= 0.80, report["accuracy"]
    assert batches[-1]["smoothed_loss"] < 0.6 * batches[0]["smoothed_loss"]


@pytest.mark.slow
def test_five_layer_relu_mlp_learns_mnist_in_two_epochs(pyodide_page, static_server):
    load_data(pyodide_page, static_server, 11000, 2000)
    out = _run(pyodide_page, "mlp5_relu", {"optimizer": "adam", "learning_rate": 0.003,
                                           "batch_size": 100, "epochs": 2,
                                           "train_images": 11000, "validation_images": 1000},
               2000)
    report, result = out["report"], out["result"]
    print(f"mlp5_relu: {report['accuracy']:.1%} on 2,000 test images after 200 steps in "
          f"{out['train_s']:.1f} s ({out['batches'][-1]['images_per_s']:.0f} images/s); "
          f"validation {[round(e['val_accuracy'], 4) for e in result['history']]}")
    assert result["epochs_done"] == 2 and len(out["batches"]) == 200
    assert report["accuracy"] >= 0.90, report["accuracy"]
    assert result["best_val_accuracy"] == max(e["val_accuracy"] for e in result["history"])


# -- repeatability, memory, pause/resume/stop, refusals -------------------------------------

SMALL_RUN = {"train_images": 1000, "validation_images": 100, "batch_size": 45, "epochs": 1}


def test_the_same_seed_repeats_the_run(pyodide_page, static_server):
    load_data(pyodide_page, static_server, 1000, 100)
    losses = pyodide_page.run(
        "_losses = []\n"
        "for _seed in (3, 3, 4):\n"
        "    SCRATCH.create('mlp5_dropout', seed=_seed)\n"
        "    _events = []\n"
        f"    await SCRATCH.train({{**{SMALL_RUN!r}, 'seed': _seed}}, _events.append)\n"
        "    _losses.append([e['loss'] for e in _events if e['kind'] == 'batch'])\n"
        "_losses")
    first, again, other = losses
    assert len(first) == 20
    assert first == again, "same seed, same data: the losses must be identical"
    assert first[-1] != other[-1]


def test_1000_steps_grow_no_gpu_objects(pyodide_page, static_server):
    load_data(pyodide_page, static_server, 1000, 100)
    counts = pyodide_page.run(
        "SCRATCH.create('softmax', seed=0)\n"
        "_options = {'train_images': 1000, 'validation_images': 100, 'batch_size': 9,\n"
        "            'dropout': 0.25, 'epochs': 1}\n"
        "await SCRATCH.train(_options)\n"
        "SCRATCH.evaluate()\n"
        "_first = SCRATCH.counters()['context']\n"
        "_result = await SCRATCH.train({**_options, 'epochs': 10})\n"
        "SCRATCH.evaluate()\n"
        "{'first': _first, 'after': SCRATCH.counters()['context'], 'result': _result}")
    assert counts["result"]["steps_done"] == 1000
    for key in ("live_textures", "live_framebuffers"):
        assert counts["after"][key] == counts["first"][key], (key, counts)


def test_pause_resume_and_stop_keep_the_best_weights(pyodide_page, static_server):
    load_data(pyodide_page, static_server, 1100, 100)
    out = pyodide_page.run(
        "import asyncio, time\n"
        "SCRATCH.create('mlp5_relu', seed=1)\n"
        "_log, _best = [], {}\n"
        "def _later():\n"
        "    _log.append(('paused for', SCRATCH.state(), time.perf_counter() - _paused[0]))\n"
        "    SCRATCH.resume()\n"
        "_paused = []\n"
        "def _progress(event):\n"
        "    if event['kind'] == 'epoch' and event['best_epoch'] == event['epoch']:\n"
        "        _best['weights'] = [list(v) for _, _, v in SCRATCH.weights()]\n"
        "    if event['kind'] == 'batch' and event['step'] == 5:\n"
        "        SCRATCH.pause()\n"
        "        _paused.append(time.perf_counter())\n"
        "        asyncio.get_event_loop().call_later(0.3, _later)\n"
        "    if event['kind'] == 'batch' and event['step'] == 150:\n"
        "        SCRATCH.stop()\n"
        "_result = await SCRATCH.train({'train_images': 1100, 'validation_images': 100,\n"
        "                               'batch_size': 10, 'epochs': 5, 'learning_rate': 0.03},\n"
        "                              _progress)\n"
        "_kept = [list(v) for _, _, v in SCRATCH.weights()]\n"
        "{'result': _result, 'log': _log, 'same': _kept == _best['weights'],\n"
        " 'state': SCRATCH.state()}")
    result = out["result"]
    # stopped half-way through epoch 2: the weights of epoch 1 are the best so far
    assert result["stopped"] and result["steps_done"] == 150 and result["epochs_done"] == 1
    assert out["log"][0][1] == "paused" and out["log"][0][2] >= 0.29, out["log"]
    assert out["same"], "after stop() the model must hold the best epoch's weights"
    assert out["state"] == "idle"


def test_refusals_in_the_page_name_the_value(pyodide_page, static_server):
    load_data(pyodide_page, static_server, 1000, 100)
    messages = pyodide_page.run(
        "from js import Object, Uint8Array\n"
        "from pyodide.ffi import to_js\n"
        "SCRATCH.create('softmax')\n"
        "_messages = []\n"
        "for _options in ({'epochs': 0}, {'momentum': 0.9}, {'optimizer': 'rmsprop'}):\n"
        "    try:\n"
        "        await SCRATCH.train(to_js(_options, dict_converter=Object.fromEntries))\n"
        "        _messages.append('no error')\n"
        "    except ValueError as _error:\n"
        "        _messages.append(str(_error))\n"
        "_js_bytes = to_js(memoryview(bytes(784 * 1000)))\n"
        "_info = SCRATCH.set_data(_js_bytes, to_js(memoryview(bytes(1000))), 1000,\n"
        "                         _js_bytes, to_js(memoryview(bytes(1000))), 1000)\n"
        "{'messages': _messages, 'info': _info, 'kind': str(type(_js_bytes))}")
    assert messages["messages"] == [
        "train: option 'epochs' must be an integer in [1, 1000], got 0",
        "train: unknown option(s) 'momentum'; allowed: optimizer, learning_rate, decay, "
        "lr_floor, decay_steps, decay_rate, batch_size, dropout, epochs, train_images, "
        "validation_images, seed",
        "train: option 'optimizer' must be one of sgd, momentum, adam, got 'rmsprop'"]
    assert messages["info"] == {"train": 1000, "test": 1000}
    assert "JsProxy" in messages["kind"] or "Js" in messages["kind"], messages["kind"]


def test_training_leaves_the_drawing_model_on_the_same_context_alone(pyodide_page,
                                                                    static_server):
    load_data(pyodide_page, static_server, 1000, 100)
    x = load_split("test").x[:8]
    out = pyodide_page.run(
        "from pyodide.http import pyfetch\n"
        "from webgl_backend.worker_api import PageSession\n"
        f"_base = {static_server.url + '/models/default'!r}\n"
        "_model_text = await (await pyfetch(_base + '/model.json')).string()\n"
        "_shard = await (await pyfetch(_base + '/group1-shard1of1.bin')).bytes()\n"
        "_drawing = PageSession(CTX)\n"
        "_drawing.load(_model_text, {'group1-shard1of1.bin': _shard})\n"
        "_before = _drawing.predict(INPUTS['x'], 8)['probabilities']\n"
        "SCRATCH.create('mlp5_dropout', seed=0)\n"
        "await SCRATCH.train({'train_images': 1000, 'validation_images': 100,\n"
        "                     'batch_size': 30, 'epochs': 1})\n"
        "_after = _drawing.predict(INPUTS['x'], 8)['probabilities']\n"
        "_drawing.dispose()\n"
        "{'before': _before, 'after': _after}", x=x)
    assert out["before"] == out["after"]


# -- the trained model as files ----------------------------------------------------------

EXPORT_ROOT = ".cache/test-exports/scratch"
TFJS = "/node_modules/@tensorflow/tfjs/dist/tf.min.js"


def test_the_export_loads_in_the_drawing_view_and_in_tfjs(pyodide_page, static_server, page,
                                                          repo_root):
    load_data(pyodide_page, static_server, 1100, 100)
    x = load_split("test").x[:64]
    out = pyodide_page.run(
        "from array import array as _array\n"
        "from webgl_backend.worker_api import PageSession\n"
        "SCRATCH.create('mlp5_dropout', seed=2)\n"
        "await SCRATCH.train({'train_images': 1100, 'validation_images': 100, 'epochs': 1})\n"
        "_ours = SCRATCH.predict(INPUTS['x'], 64)['probabilities']\n"
        "_files = SCRATCH.export()\n"
        "_view = PageSession(CTX)\n"
        "_info = _view.load(_files['model_json'], _files['shards'])\n"
        "_viewed = _view.predict(INPUTS['x'], 64)['probabilities']\n"
        "_view.dispose()\n"
        "{'ours': _ours, 'viewed': _viewed, 'info': _info, 'json': _files['model_json'],\n"
        " 'shards': {k: _array('f', v) for k, v in _files['shards'].items()}}", x=x)
    ours = np.asarray(out["ours"], np.float32).reshape(64, 10)
    assert_close("the drawing view's predictions of the export", np.asarray(
        out["viewed"], np.float32).reshape(64, 10), ours, atol=1e-6, rtol=0)
    assert [layer["class_name"] for layer in out["info"]["layers"]].count("Dropout") == 4
    files = {"model.json": out["json"].encode("utf-8"),
             **{name: values.astype("<f4").tobytes() for name, values in out["shards"].items()}}
    root = repo_root / EXPORT_ROOT
    write_folder(root / "mlp5_dropout", files)
    (root / "blank.html").write_text("<!doctype html><title>tfjs scratch oracle</title>")
    page.goto(f"{static_server.url}/{EXPORT_ROOT}/blank.html")
    page.add_script_tag(url=TFJS)
    blob = base64.b64encode(np.ascontiguousarray(x, "<f4").tobytes()).decode("ascii")
    result = page.evaluate(_TFJS_PREDICT, [
        f"{static_server.url}/{EXPORT_ROOT}/mlp5_dropout/model.json", blob, list(x.shape)])
    theirs = np.array(result["probs"], np.float32).reshape(result["shape"])
    assert result["classes"] == ["Flatten"] + ["Dense", "Dropout"] * 4 + ["Dense"]
    assert (theirs.argmax(1) == ours.argmax(1)).all()
    assert_close("TF.js's predictions of the export", theirs, ours, atol=1e-5, rtol=0)
