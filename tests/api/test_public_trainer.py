"""Training from scratch through the public module (static/shadernet.mjs `createTrainer`)
on examples/index.html served by a plain static server: the ladder, MNIST-shaped data, a
run with its progress, pause / resume / stop, the test figures, the export (loaded by
TF.js 4.22 with the same predictions as the trainer's own Model) and the error codes."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from model_export.data import load_split
from tests.api.test_public_module import TFJS, build_wheel, open_example
from webgl_backend.ladder import ladder

pytestmark = pytest.mark.browser

N_TRAIN, N_TEST = 1000, 200

_SET_DATA = """const bytes = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    const { createTrainer } = await import("/static/shadernet.mjs");
    const trainer = await createTrainer();
    await trainer.setData({ trainImages: bytes(data[0]), trainLabels: bytes(data[1]), nTrain: data[2],
                            testImages: bytes(data[3]), testLabels: bytes(data[4]), nTest: data[5] },
                          { transfer: true });"""

_OUTCOME = """const outcome = async (promise) => { try { await promise; return null; }
    catch (error) { return { name: error.name, code: error.code, message: error.message }; } };"""

# A small run: 900 training images, 100 for validation, 9 steps of 100.
RUN = {"optimizer": "adam", "learning_rate": 0.003, "batch_size": 100, "epochs": 1,
       "train_images": N_TRAIN, "validation_images": 100, "decay": "none"}


def b64(values: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(values).tobytes()).decode("ascii")


@pytest.fixture(scope="module")
def data() -> list:
    train, test = load_split("train"), load_split("test")
    pixels = lambda x: np.round(x * 255).astype(np.uint8)  # noqa: E731 - MNIST's bytes again
    return [b64(pixels(train.x[:N_TRAIN])), b64(train.y[:N_TRAIN].astype(np.uint8)), N_TRAIN,
            b64(pixels(test.x[:N_TEST])), b64(test.y[:N_TEST].astype(np.uint8)), N_TEST]


@pytest.fixture(scope="module")
def example(browser, static_server):
    build_wheel()
    context, page = open_example(browser, static_server)
    yield page
    context.close()


def test_a_softmax_trained_here_evaluates_exports_to_tfjs_and_becomes_a_model(example, data):
    example.add_script_tag(url=TFJS)
    result = example.evaluate(f"""async ([data, run]) => {{ {_SET_DATA}
        const created = await trainer.create("softmax", {{ seed: 0 }});
        const events = [];
        const trained = await trainer.train(run, {{ onProgress: (event) => events.push(event) }});
        const test = await trainer.evaluate({{ mistakes: 4 }});
        const {{ modelJson, weights }} = await trainer.export();
        const model = await trainer.toModel();
        const x = Float32Array.from(bytes(data[3]), (v) => v / 255);
        const ours = Array.from(await model.predict(x, data[5]));
        if (!(await tf.setBackend("cpu"))) throw new Error("no cpu backend");
        const loaded = await tf.loadLayersModel(tf.io.browserFiles([modelJson, ...weights]));
        const theirs = Array.from(await loaded.predict(tf.tensor(x, [data[5], 28, 28, 1])).data());
        await model.dispose();
        await trainer.close();
        return {{ ladder: trainer.ladder.map((rung) => rung.name), created, trained,
                 kinds: events.map((event) => event.kind), test, ours, theirs,
                 mistake: test.mistakes[0] && {{ ...test.mistakes[0], pixels: test.mistakes[0].pixels.length,
                                                 typed: test.mistakes[0].pixels instanceof Uint8Array }} }};
    }}""", [data, RUN])
    assert result["ladder"] == [rung["name"] for rung in ladder()]
    assert [layer["class_name"] for layer in result["created"]["layers"]][-1] == "Dense"
    assert result["kinds"] == ["batch"] * 9 + ["epoch"]
    assert result["trained"]["steps_done"] == 9 and not result["trained"]["stopped"]
    test = result["test"]
    ours = np.array(result["ours"], np.float32).reshape(N_TEST, 10)
    theirs = np.array(result["theirs"], np.float32).reshape(N_TEST, 10)
    assert np.abs(ours - theirs).max() < 1e-4
    # evaluate's figures are TF.js's on the exported files (ties aside), and it learned.
    labels = load_split("test").y[:N_TEST]
    assert test["images"] == N_TEST
    assert abs(test["accuracy"] - float((theirs.argmax(1) == labels).mean())) <= 1 / N_TEST
    assert test["accuracy"] > 0.4, test["accuracy"]
    assert sum(map(sum, test["confusion"])) == N_TEST
    assert len(test["mistakes"]) == 4
    assert result["mistake"]["pixels"] == 784 and result["mistake"]["typed"]


def test_pause_holds_the_run_resume_goes_on_and_stop_ends_it(example, data):
    result = example.evaluate(f"""async ([data, run]) => {{ {_SET_DATA}
        await trainer.create("softmax", {{ seed: 1 }});
        let steps = 0;
        const states = [];
        const training = trainer.train({{ ...run, epochs: 20 }}, {{ onProgress: (event) => {{
            if (event.kind === "batch") steps++; }} }});
        while (steps < 2) await new Promise((resolve) => setTimeout(resolve, 10));
        await trainer.pause();
        await new Promise((resolve) => setTimeout(resolve, 200));
        const held = steps;
        states.push(await trainer.state());
        await new Promise((resolve) => setTimeout(resolve, 500));
        const stillHeld = steps;
        await trainer.resume();
        while (steps < held + 2) await new Promise((resolve) => setTimeout(resolve, 10));
        states.push(await trainer.state());
        await trainer.stop();
        const ended = await training;
        states.push(await trainer.state());
        await trainer.close();
        return {{ held, stillHeld, states, ended }};
    }}""", [data, RUN])
    assert result["stillHeld"] == result["held"]
    assert result["states"] == ["paused", "training", "idle"]
    assert result["ended"]["stopped"] and result["ended"]["steps_done"] < 180


def test_the_trainer_calls_reject_with_documented_codes(example, data):
    result = example.evaluate(f"""async ([data, run]) => {{ {_SET_DATA} {_OUTCOME}
        const rung = await outcome(trainer.create("resnet"));
        await trainer.create("softmax");
        const option = await outcome(trainer.train({{ ...run, warp: 9 }}));
        const images = await outcome(trainer.setData({{ trainImages: new Float32Array(4) }}));
        await trainer.close();
        return {{ rung, option, images, closed: await outcome(trainer.evaluate()) }};
    }}""", [data, RUN])
    assert result["rung"]["code"] == "argument" and result["rung"]["name"] == "ArgumentError"
    assert "resnet" in result["rung"]["message"] and "mlp5_relu" in result["rung"]["message"]
    assert result["option"]["code"] == "argument" and "warp" in result["option"]["message"]
    assert result["images"]["code"] == "argument" and "trainImages" in result["images"]["message"]
    assert result["closed"]["code"] == "argument" and "closed" in result["closed"]["message"]
