"""Training from scratch in the page (webgl_backend.scratch) on WebGL2, against numpy:

- one step of every rung of the ladder equals our numpy trainer's step on the same initial
  weights (the page's, exported) and batch, dropout included (the GPU's masks read back
  and handed to numpy), every optimizer used at least once;
- the GPU masks follow numpy's inverted-dropout rule;
- the softmax and the five-layer ReLU MLP learn MNIST to the issue's bars;
- a seed repeats a run exactly; 1,000 steps grow no GPU objects; stop keeps the best.

MNIST reaches the page as uint8 over HTTP (the idx files of .cache/mnist/), as bytes.
"""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from model_export.data import load_split
from model_export.export import write_folder
from model_export.exported import sequential_from_artifacts
from model_export.layers import Dropout
from model_export.nn import optimizers as opt
from model_export.nn.schedules import ExponentialDecay
from tests.browser.test_tfjs_finetuned import _TFJS_PREDICT
from tests.ops.parity import assert_close
from webgl_backend.model_format import read_model

pytestmark = pytest.mark.browser

BATCH = 16


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


class _GivenMask:
    """Stands in for a numpy Dropout layer's generator: `random()` answers 1.0 where the
    GPU kept an element and 0.0 where it dropped it, so numpy's rule `u >= rate` rebuilds
    exactly the GPU's mask (0 < rate < 1)."""

    def __init__(self, mask: np.ndarray) -> None:
        self.mask = mask

    def random(self, shape, dtype=np.float32):
        assert tuple(shape) == self.mask.shape, (shape, self.mask.shape)
        return (self.mask > 0).astype(dtype)


def _load_data(pyodide_page, static_server, n_train: int, n_test: int) -> None:
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


def _exported(pyodide_page) -> tuple[dict, dict]:
    result = pyodide_page.run(
        "from array import array as _array\n"
        "_files = SCRATCH.export()\n"
        "{'json': _files['model_json'],\n"
        " 'shards': {k: _array('f', v) for k, v in _files['shards'].items()}}")
    return json.loads(result["json"]), {k: v.tobytes() for k, v in result["shards"].items()}


# -- the data set on the GPU -------------------------------------------------------------

def test_gathered_images_are_numpys_normalised_pixels(pyodide_page, static_server):
    _load_data(pyodide_page, static_server, 1000, 100)
    rows = [3, 999, 0, 512, 3, 77, 8]
    got = pyodide_page.run(
        "from webgl_backend.tensor import GpuTensor\n"
        "_out = []\n"
        "for _shape in ((7, 784), (7, 28, 28, 1)):\n"
        "    _tensor = GpuTensor.empty(CTX, _shape)\n"
        f"    SCRATCH.train_images.write(_tensor, {rows})\n"
        "    _out.append(_tensor.read())\n"
        "    _tensor.dispose()\n"
        "_out")
    expected = load_split("train").x[rows]
    for values in got:
        # the texture unit's value / 255 may round differently from numpy's in the last bit
        assert_close("gathered images", values.reshape(expected.shape), expected,
                     atol=1e-7, rtol=0)


# -- one step of every rung equals numpy's ------------------------------------------------

STEP_CASES = [("softmax", "sgd", 0.1, 0.0), ("softmax", "adam", 0.003, 0.3),
              ("mlp5_sigmoid", "momentum", 0.05, 0.0), ("mlp5_relu", "adam", 0.003, 0.0),
              ("mlp5_relu_decay", "sgd", 0.1, 0.0), ("mlp5_dropout", "adam", 0.003, 0.25),
              ("mlp5_dropout", "momentum", 0.05, 0.5), ("cnn", "adam", 0.003, 0.25),
              ("cnn", "sgd", 0.05, 0.25)]


@pytest.mark.parametrize("name,optimizer,learning_rate,dropout", STEP_CASES,
                         ids=[f"{c[0]}-{c[1]}-dropout{c[3]}" for c in STEP_CASES])
def test_one_step_of_every_rung_matches_numpy(pyodide_page, static_server, name, optimizer,
                                              learning_rate, dropout):
    test = load_split("test")
    x, labels = test.x[:BATCH], test.y[:BATCH]
    if "SCRATCH" not in pyodide_page.run("list(globals())"):
        _load_data(pyodide_page, static_server, 1000, 100)
    pyodide_page.run(f"SCRATCH.create({name!r}, seed=5, dropout={dropout})")
    initial = read_model(*_exported(pyodide_page))
    result = pyodide_page.run(
        "_tuner = SCRATCH.page.tuner\n"
        f"_tuner.configure_training(optimizer={optimizer!r}, learning_rate={learning_rate}, "
        "seed=11, dropout=True)\n"
        f"_loss = _tuner.fit_batch(INPUTS['x'], [int(v) for v in INPUTS['labels']], {BATCH})\n"
        "{'loss': _loss, 'masks': _tuner.dropout_masks()}",
        x=x, labels=labels.astype(np.float32))

    reference = sequential_from_artifacts(initial)
    dropouts = [layer for layer in reference.layers if isinstance(layer, Dropout)]
    assert sorted(result["masks"]) == sorted(d.name for d in dropouts if d.rate > 0)
    for layer in dropouts:
        if layer.rate > 0:
            shape = (BATCH,) + reference.output_shapes[reference.layers.index(layer)]
            mask = result["masks"][layer.name].reshape(shape)
            _check_inverted_dropout(layer.name, mask, layer.rate)
            layer.rng = _GivenMask(mask)
    loss, _ = reference.train_step_gradients(x, labels)
    numpy_optimizer = opt.get_optimizer(optimizer, learning_rate=learning_rate)
    numpy_optimizer.apply(reference.parameters(), reference.gradients())
    assert abs(result["loss"] - loss) <= 1e-4 * max(1.0, abs(loss)), (result["loss"], loss)

    stepped = read_model(*_exported(pyodide_page))
    got = {wname: np.asarray(values).reshape(shape)
           for spec in stepped.layers for wname, shape, values in spec.weights}
    before = {wname: np.asarray(values).reshape(shape)
              for spec in initial.layers for wname, shape, values in spec.weights}
    for wname, expected in reference.get_weights():
        assert_close(f"{name} {optimizer} step: weight {wname}", got[wname], expected,
                     atol=1e-4, rtol=0)
        assert not np.array_equal(got[wname], before[wname]), f"{wname} did not move"


def test_three_decaying_adam_steps_match_numpy(pyodide_page, static_server):
    """The schedule and Adam's step count on the GPU over several steps (decay_steps 1,
    so every step has another rate), dropout on, one new mask per step."""
    if "SCRATCH" not in pyodide_page.run("list(globals())"):
        _load_data(pyodide_page, static_server, 1000, 100)
    test = load_split("test")
    batches = [(test.x[i * BATCH:(i + 1) * BATCH], test.y[i * BATCH:(i + 1) * BATCH])
               for i in range(3)]
    pyodide_page.run("SCRATCH.create('mlp5_dropout', seed=9)")
    initial = read_model(*_exported(pyodide_page))
    result = pyodide_page.run(
        "from webgl_backend.training.schedules import exponential_decay\n"
        "_tuner = SCRATCH.page.tuner\n"
        "_tuner.configure_training('adam', 0.01, seed=4, dropout=True,\n"
        "                          schedule=exponential_decay(0.01, 1, 0.5, 0.002))\n"
        "_masks, _losses = [], []\n"
        "for _i in range(3):\n"
        f"    _x = INPUTS['x'][_i * {BATCH * 784}:(_i + 1) * {BATCH * 784}]\n"
        f"    _y = [int(v) for v in INPUTS['labels'][_i * {BATCH}:(_i + 1) * {BATCH}]]\n"
        f"    _losses.append(_tuner.fit_batch(_x, _y, {BATCH}))\n"
        "    _masks.append(_tuner.dropout_masks())\n"
        "{'losses': _losses, 'masks': _masks}",
        x=np.concatenate([b[0] for b in batches]),
        labels=np.concatenate([b[1] for b in batches]).astype(np.float32))
    reference = sequential_from_artifacts(initial)
    adam = opt.get_optimizer("adam", learning_rate=ExponentialDecay(0.01, 1, 0.5, floor=0.002))
    dropouts = [layer for layer in reference.layers if isinstance(layer, Dropout)]
    for step, (x, labels) in enumerate(batches):
        for layer in dropouts:
            shape = (BATCH,) + reference.output_shapes[reference.layers.index(layer)]
            layer.rng = _GivenMask(result["masks"][step][layer.name].reshape(shape))
        loss, _ = reference.train_step_gradients(x, labels)
        assert abs(result["losses"][step] - loss) <= 1e-4 * max(1.0, loss), (step, loss)
        adam.apply(reference.parameters(), reference.gradients())
    assert not np.array_equal(result["masks"][0]["dropout"], result["masks"][1]["dropout"])
    stepped = read_model(*_exported(pyodide_page))
    got = {name: np.asarray(values).reshape(shape)
           for spec in stepped.layers for name, shape, values in spec.weights}
    for name, expected in reference.get_weights():
        assert_close(f"3 decaying adam steps: weight {name}", got[name], expected,
                     atol=1e-4, rtol=0)


def _check_inverted_dropout(name: str, mask: np.ndarray, rate: float) -> None:
    """Kept elements hold float32(1 / (1 - rate)), dropped ones 0, about `rate` dropped."""
    scale = np.float32(1 / (1 - rate))
    assert set(np.unique(mask).tolist()) <= {0.0, float(scale)}, (name, np.unique(mask))
    dropped = float(np.mean(mask == 0))
    # binomial: 4 standard deviations of the fraction over mask.size draws
    assert abs(dropped - rate) <= 4 * np.sqrt(rate * (1 - rate) / mask.size), (name, dropped)


def test_masks_change_per_step_and_repeat_per_seed(pyodide_page, static_server):
    if "SCRATCH" not in pyodide_page.run("list(globals())"):
        _load_data(pyodide_page, static_server, 1000, 100)
    x = load_split("test").x[:BATCH]
    masks = pyodide_page.run(
        "SCRATCH.create('mlp5_dropout', seed=0)\n"
        "_out = []\n"
        "for _seed in (1, 1, 2):\n"
        "    _tuner = SCRATCH.page.tuner\n"
        "    _tuner.configure_training('sgd', 1e-9, seed=_seed, dropout=True)\n"
        "    for _ in range(2):\n"
        f"        _tuner.fit_batch(INPUTS['x'], [1] * {BATCH}, {BATCH})\n"
        "        _out.append(_tuner.dropout_masks()['dropout'])\n"
        "_out", x=x)
    first, second, again, _, other, _ = masks
    assert not np.array_equal(first, second), "step 2 reused step 1's mask"
    assert np.array_equal(first, again), "the same seed drew another mask"
    assert not np.array_equal(first, other), "another seed drew the same mask"
    # neighbouring samples and units are independent draws, not one pattern repeated
    rows = first.reshape(BATCH, 200) > 0
    assert not (rows == rows[0]).all(axis=1)[1:].any()


# -- learning MNIST ---------------------------------------------------------------------

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
    _load_data(pyodide_page, static_server, 11000, 2000)
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
    _load_data(pyodide_page, static_server, 11000, 2000)
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
    _load_data(pyodide_page, static_server, 1000, 100)
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
    _load_data(pyodide_page, static_server, 1000, 100)
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
    _load_data(pyodide_page, static_server, 1100, 100)
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
    _load_data(pyodide_page, static_server, 1000, 100)
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
    _load_data(pyodide_page, static_server, 1000, 100)
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
    _load_data(pyodide_page, static_server, 1100, 100)
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
