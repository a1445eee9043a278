"""Training-step speed in the browser: our fine-tuning (webgl_backend.training) vs TF.js.

    .venv/bin/python -m bench.browser_training [--steps 10] [--batch 32]   # from the repo root

Same headless Chromium, same page, same exported models (the default CNN and the MLP),
batch 32, plain SGD: our `GpuModel.fit_batch` vs TF.js webgl `model.trainOnBatch`.
Prints the median step time of each, their ratio (ours / TF.js; the goal is <= 0.7),
our draws and GL calls per step, and the first step of each (shader compiles included).
Runs are interleaved (ours, TF.js, ours, ...) so a busy neighbour on the 2 cores hits
both. bench/browser.py did not exist when this was written; fold it in there later.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = REPO_ROOT / "build" / "bench_models"
CHROMIUM_ARGS = ["--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--no-sandbox"]
LEARNING_RATE = 0.01

_TFJS_SETUP = """async ([url, images, labels, batch]) => {
  await tf.setBackend('webgl');
  await tf.ready();
  const model = await tf.loadLayersModel(url);
  model.compile({optimizer: tf.train.sgd(%r), loss: 'categoricalCrossentropy'});
  const x = tf.tensor4d(images, [batch, 28, 28, 1]);
  const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
  window.benchTf = {model, x, y};
  const start = performance.now();
  await model.trainOnBatch(x, y);
  return performance.now() - start;
}""" % LEARNING_RATE

_TFJS_STEP = """async () => {
  const {model, x, y} = window.benchTf;
  const start = performance.now();
  await model.trainOnBatch(x, y);  // resolves with the loss: the GPU work is done
  return performance.now() - start;
}"""

_TFJS_DISPOSE = """() => {
  const {model, x, y} = window.benchTf;
  model.dispose(); x.dispose(); y.dispose();
}"""


def _export_models() -> dict[str, Path]:
    from model_export.architectures import MNIST_INPUT_SHAPE, cnn_layers, mlp_layers
    from model_export.export import export_model
    from model_export.model import Sequential

    folders = {}
    for name, layers in (("cnn", cnn_layers), ("mlp", mlp_layers)):
        folder = MODELS_DIR / f"{name}_seed0"
        if not (folder / "model.json").is_file():
            export_model(Sequential(layers(), MNIST_INPUT_SHAPE, seed=0), folder)
        folders[name] = folder
    return folders


def _ours_first(page, url: str, batch: int) -> dict:
    return page.run(
        "import time\n"
        "from webgl_backend.runtime import Runtime\n"
        "if 'BENCH_RUNTIME' not in globals():\n"
        "    BENCH_RUNTIME = Runtime(CTX)\n"
        f"BENCH = await BENCH_RUNTIME.load_model_url({json.dumps(url)})\n"
        f"BENCH.configure_training(optimizer='sgd', learning_rate={LEARNING_RATE})\n"
        "BENCH_LABELS = [int(v) for v in INPUTS['labels']]\n"
        "BENCH_IMAGES = INPUTS['x']\n"
        f"BENCH.fit_batch(BENCH_IMAGES, BENCH_LABELS, {batch})\n"
        "BENCH.last_step",
        x=IMAGES[:batch], labels=LABELS[:batch].astype(np.float32),
    )


def _ours_step(page, batch: int) -> dict:
    return page.run(f"BENCH.fit_batch(BENCH_IMAGES, BENCH_LABELS, {batch})\nBENCH.last_step")


def bench_model(page, static_server, name: str, folder: Path, steps: int, batch: int) -> dict:
    url = f"{static_server.url}/{folder.relative_to(REPO_ROOT).as_posix()}"
    ours_first = _ours_first(page, f"{url}", batch)
    tf_first = page.page.evaluate(_TFJS_SETUP, [f"{url}/model.json",
                                                IMAGES[:batch].ravel().tolist(),
                                                LABELS[:batch].tolist(), batch])
    ours, theirs, last = [], [], {}
    for _ in range(steps):
        last = _ours_step(page, batch)
        ours.append(last["ms"])
        theirs.append(page.page.evaluate(_TFJS_STEP))
    page.page.evaluate(_TFJS_DISPOSE)
    page.run("BENCH.dispose()")
    return {"model": name, "ours_ms": statistics.median(ours),
            "tfjs_ms": statistics.median(theirs), "ours_first_ms": ours_first["ms"],
            "tfjs_first_ms": tf_first, "draws": last["draws"], "gl_calls": last["gl_calls"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from model_export.data import load_split
    from tests.browser.pyodide import PyodidePage
    from tests.support.static_server import StaticServer

    global IMAGES, LABELS
    test = load_split("test")
    IMAGES, LABELS = test.x[:256], test.y[:256]
    folders = _export_models()
    server = StaticServer(REPO_ROOT)
    rows = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                 args=CHROMIUM_ARGS)
            page = PyodidePage(browser, server)
            page.page.add_script_tag(url=f"{server.url}/node_modules/@tensorflow/tfjs/dist/"
                                         "tf.min.js")
            for name, folder in folders.items():
                rows.append(bench_model(page, server, name, folder, args.steps, args.batch))
            browser.close()
    finally:
        server.close()
    print(f"training step, batch {args.batch}, SGD, headless Chromium (medians of "
          f"{args.steps} interleaved steps)")
    print(f"{'model':<6}{'ours ms':>10}{'tfjs ms':>10}{'ratio':>8}{'draws':>7}{'gl calls':>10}"
          f"{'ours 1st':>10}{'tfjs 1st':>10}")
    for r in rows:
        print(f"{r['model']:<6}{r['ours_ms']:>10.1f}{r['tfjs_ms']:>10.1f}"
              f"{r['ours_ms'] / r['tfjs_ms']:>8.2f}{r['draws']:>7}{r['gl_calls']:>10}"
              f"{r['ours_first_ms']:>10.0f}{r['tfjs_first_ms']:>10.0f}")
    return 0


IMAGES = LABELS = None

if __name__ == "__main__":
    sys.exit(main())
