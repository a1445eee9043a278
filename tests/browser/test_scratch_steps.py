"""One training step from scratch in the page (webgl_backend.scratch) on WebGL2 equals our
numpy trainer's step on the same initial weights (the page's, exported) and batch, for every
rung of the ladder, dropout included (the GPU's masks read back and handed to numpy), every
optimizer used at least once; the GPU masks follow numpy's inverted-dropout rule.
"""

from __future__ import annotations


import numpy as np
import pytest

from model_export.data import load_split
from model_export.exported import sequential_from_artifacts
from model_export.layers import Dropout
from model_export.nn import optimizers as opt
from model_export.nn.schedules import ExponentialDecay
from tests.browser.scratch_support import (  # noqa: F401 - the module fixture
    GivenMask,
    exported_files,
    load_data,
    no_scratch_session_left,
)
from tests.ops.parity import assert_close
from webgl_backend.model_format import read_model

pytestmark = pytest.mark.browser

BATCH = 16


# -- the data set on the GPU -------------------------------------------------------------

def test_gathered_images_are_numpys_normalised_pixels(pyodide_page, static_server):
    load_data(pyodide_page, static_server, 1000, 100)
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
        load_data(pyodide_page, static_server, 1000, 100)
    pyodide_page.run(f"SCRATCH.create({name!r}, seed=5, dropout={dropout})")
    initial = read_model(*exported_files(pyodide_page))
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
            layer.rng = GivenMask(mask)
    loss, _ = reference.train_step_gradients(x, labels)
    numpy_optimizer = opt.get_optimizer(optimizer, learning_rate=learning_rate)
    numpy_optimizer.apply(reference.parameters(), reference.gradients())
    assert abs(result["loss"] - loss) <= 1e-4 * max(1.0, abs(loss)), (result["loss"], loss)

    stepped = read_model(*exported_files(pyodide_page))
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
        load_data(pyodide_page, static_server, 1000, 100)
    test = load_split("test")
    batches = [(test.x[i * BATCH:(i + 1) * BATCH], test.y[i * BATCH:(i + 1) * BATCH])
               for i in range(3)]
    pyodide_page.run("SCRATCH.create('mlp5_dropout', seed=9)")
    initial = read_model(*exported_files(pyodide_page))
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
            layer.rng = GivenMask(result["masks"][step][layer.name].reshape(shape))
        loss, _ = reference.train_step_gradients(x, labels)
        assert abs(result["losses"][step] - loss) <= 1e-4 * max(1.0, loss), (step, loss)
        adam.apply(reference.parameters(), reference.gradients())
    assert not np.array_equal(result["masks"][0]["dropout"], result["masks"][1]["dropout"])
    stepped = read_model(*exported_files(pyodide_page))
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
        load_data(pyodide_page, static_server, 1000, 100)
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
