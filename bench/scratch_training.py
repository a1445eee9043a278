"""Training from scratch in the page (issue 18): one epoch in our worker vs TF.js `model.fit`.

    .venv/bin/python -m bench.scratch_training [--scratch-repeats 3] [--scratch-images 10000]
        [--scratch-models mlp5_relu,cnn]
    .venv/bin/python -m bench.browser --sections scratch_page   # the same, as a section

The real drawing page (server.main.create_app under uvicorn) is loaded; MNIST comes from
our server as the Train panel gets it (static/mnist_data.js) and goes to a Trainer of the
public module (shadernet.mjs `createTrainer`, `setData`) in the page's worker. TF.js 4.22
(webgl backend) runs alone in its own page of the same browser
(bench/pages/tfjs_scratch.html, as a TF.js training page would), on the same first
`--scratch-images` training images (the same idx files, float32 /255, one-hot labels) and
the same model: our `trainer.export()` (topology and seeded initial weights) loaded with
`tf.io.fromMemory`. Each side trains one epoch, batch 100, Adam 0.003, every image
trained on (no validation split), from fresh weights per repeat, after one first epoch
per side that compiles the shaders (printed apart); repeats alternate ours / TF.js. Ours
is the `trainer.train` round trip, TF.js `await model.fit(...)`; medians are printed with
the ratio ours / TF.js (goal <= 0.5).

Then the accuracy after a set schedule (mlp5_relu, 2 epochs of `--images` images, batch
100, Adam 0.003) on the 10,000 test images: in the page vs our numpy trainer
(model_export) on the same images and schedule.
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import tempfile
from pathlib import Path

from bench.report import median, row

REPO_ROOT = Path(__file__).resolve().parents[1]
GOAL = 0.5
BATCH = 100
LEARNING_RATE = 0.003
SCHEDULE = {"arch": "mlp5_relu", "epochs": 2}
TFJS_PAGE = "bench/pages/tfjs_scratch.html"

# Our page: MNIST from /api/mnist through the Train panel's loader to a Trainer of the
# public module (shadernet.mjs `createTrainer`), on the runtime the page started.
PREPARE_OURS = """async () => {
  const config = JSON.parse(document.getElementById('shadernet-config').textContent);
  const base = new URL(config.static_url, location.href);
  const { createTrainer } = await import(new URL('shadernet.mjs', base).href);
  const { loadMnist } = await import(new URL('mnist_data.js', base).href);
  const trainer = await createTrainer();
  const data = await loadMnist(config.mnist_url);
  await trainer.setData({
    trainImages: data.train_images, trainLabels: data.train_labels, nTrain: data.n_train,
    testImages: data.test_images, testLabels: data.test_labels, nTest: data.n_test,
  }, { transfer: true });
  window.benchScratch = { trainer };
}"""

# TF.js's page: the same first n training images (the idx files), float32 / 255, one-hot.
PREPARE_TFJS = """async (n) => {
  const bytes = async (name, header, size) => new Uint8Array(
    await (await fetch('../../.cache/mnist/' + name)).arrayBuffer(), header, n * size);
  const pixels = await bytes('train-images-idx3-ubyte', 16, 784);
  const labels = await bytes('train-labels-idx1-ubyte', 8, 1);
  await tf.setBackend('webgl');
  await tf.ready();
  window.benchScratch = {
    xs: tf.tensor4d(Float32Array.from(pixels, (v) => v / 255), [n, 28, 28, 1]),
    ys: tf.oneHot(tf.tensor1d(Int32Array.from(labels), 'int32'), 10) };
  const gl = tf.backend().gpgpu.gl;
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  return { renderer: String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER)),
           tfjs_version: tf.version.tfjs, backend: tf.getBackend() };
}"""

# Ours: fresh seeded weights (exported for TF.js, shards as base64), then one epoch.
OURS_EPOCH = """async ([arch, seed, options]) => {
  const { trainer } = window.benchScratch;
  await trainer.create(arch, { seed });
  const files = await trainer.export();
  const shards = {};
  for (const file of files.weights) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    let text = '';
    for (let i = 0; i < bytes.length; i += 8192) {
      text += String.fromCharCode(...bytes.subarray(i, i + 8192));
    }
    shards[file.name] = btoa(text);
  }
  const t = performance.now();
  const ours = await trainer.train({ ...options, seed });
  return { ms: performance.now() - t, worker_ms: ours.ms, steps: ours.steps_done,
           model_json: await files.modelJson.text(), shards };
}"""

# TF.js: the same model and initial weights, one epoch of model.fit.
TFJS_EPOCH = """async ([files, options]) => {
  const { xs, ys } = window.benchScratch;
  const modelJson = JSON.parse(files.model_json);
  const groups = modelJson.weightsManifest;
  const specs = groups.flatMap((group) => group.weights);
  const parts = groups.flatMap((group) => group.paths.map(
    (path) => Uint8Array.from(atob(files.shards[path]), (c) => c.charCodeAt(0))));
  const weightData = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  parts.reduce((offset, part) => { weightData.set(part, offset); return offset + part.length; }, 0);
  const model = await tf.loadLayersModel(tf.io.fromMemory(
    { modelTopology: modelJson.modelTopology, weightSpecs: specs, weightData: weightData.buffer }));
  model.compile({ optimizer: tf.train.adam(options.learning_rate), loss: 'categoricalCrossentropy',
                  metrics: ['accuracy'] });
  const t = performance.now();
  const history = await model.fit(xs, ys, { epochs: 1, batchSize: options.batch_size,
                                            shuffle: true, verbose: 0 });
  const ms = performance.now() - t;
  model.dispose();
  return { ms, loss: history.history.loss.at(-1),
           accuracy: history.history.acc?.at(-1) ?? history.history.accuracy?.at(-1),
           tensors: tf.memory().numTensors };
}"""


def repeat(ours_page, tfjs_page, arch: str, seed: int, options: dict) -> dict:
    """One interleaved pair: ours (fresh weights of `seed`), then TF.js from the same."""
    ours = ours_page.evaluate(OURS_EPOCH, [arch, seed, options])
    files = {"model_json": ours.pop("model_json"), "shards": ours.pop("shards")}
    tfjs = tfjs_page.evaluate(TFJS_EPOCH, [files, options])
    return {"ours_ms": ours["ms"], "ours_worker_ms": ours["worker_ms"],
            "ours_steps": ours["steps"], "tfjs_ms": tfjs["ms"], "tfjs_loss": tfjs["loss"],
            "tfjs_accuracy": tfjs["accuracy"], "tensors": tfjs["tensors"]}


SCHEDULE_RUN = """async ([arch, seed, options]) => {
  const { trainer } = window.benchScratch;
  await trainer.create(arch, { seed });
  const trained = await trainer.train({ ...options, seed });
  const test = await trainer.evaluate({ mistakes: 0 });
  return { ms: trained.ms, accuracy: test.accuracy, images: test.images };
}"""


def train_options(images: int, epochs: int) -> dict:
    """Every one of `images` trained on (no validation split), as TF.js's fit does."""
    return {"optimizer": "adam", "learning_rate": LEARNING_RATE, "decay": "none",
            "batch_size": BATCH, "dropout": 0.0, "epochs": epochs, "train_images": images,
            "validation_images": 0}


def progress(arch: str, what: str, result: dict) -> None:
    """One line as each epoch pair ends (a CNN epoch takes minutes here)."""
    print(f"  [{arch}] {what}: ours {result['ours_ms'] / 1000:.1f} s, TF.js "
          f"{result['tfjs_ms'] / 1000:.1f} s", flush=True)


def measure(browser, archs: list[str], images: int, repeats: int) -> dict:
    """Per arch: a first epoch, then interleaved repeats, ours then TF.js; then the schedule."""
    from tests.support.live_server import app_serving, live_server
    from tests.support.page_driver import DrawingPage
    from tests.support.static_server import StaticServer

    scratch = Path(tempfile.mkdtemp(prefix="bench-scratch-"))
    app = app_serving(REPO_ROOT / "models" / "default", scratch)
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    static = StaticServer(REPO_ROOT)
    try:
        with live_server(app) as url:
            ours_page = context.new_page()
            ours_page.set_default_timeout(1_800_000)
            DrawingPage(ours_page, url + "/")
            ours_page.evaluate(PREPARE_OURS)
            tfjs_page = context.new_page()
            tfjs_page.set_default_timeout(1_800_000)
            tfjs_page.goto(f"{static.url}/{TFJS_PAGE}")
            facts = tfjs_page.evaluate(PREPARE_TFJS, images)
            results = {"facts": facts, "archs": {}}
            options = train_options(images, 1)
            for arch in archs:
                # The first epoch of each side compiles its shaders: reported, not in the median.
                first = repeat(ours_page, tfjs_page, arch, 100, options)
                progress(arch, "first", first)
                runs = []
                for seed in range(repeats):
                    runs.append(repeat(ours_page, tfjs_page, arch, seed, options))
                    progress(arch, f"repeat {seed + 1}", runs[-1])
                results["archs"][arch] = {"first": first, "runs": runs}
            results["schedule"] = ours_page.evaluate(SCHEDULE_RUN, [
                SCHEDULE["arch"], 0, train_options(images, SCHEDULE["epochs"])])
            return results
    finally:
        context.close()
        static.close()
        shutil.rmtree(scratch, ignore_errors=True)


def numpy_schedule(images: int) -> dict:
    """The same schedule in our numpy trainer: the first `images` training images."""
    import time

    from model_export.data import Mnist, Split, load_split
    from model_export.report import evaluate_predictions
    from model_export.train import TrainConfig, Trainer, build_model, build_optimizer

    train, test = load_split("train"), load_split("test")
    config = TrainConfig(arch=SCHEDULE["arch"], epochs=SCHEDULE["epochs"], batch_size=BATCH,
                         optimizer="adam", learning_rate=LEARNING_RATE, decay="none",
                         validation_fraction=0.0).resolved()
    model = build_model(config)
    data = Mnist(Split(train.x[:images], train.y[:images]), Split(train.x[:0], train.y[:0]),
                 test)
    started = time.perf_counter()
    Trainer(model, build_optimizer(config), config, stream=io.StringIO()).fit(data)
    seconds = time.perf_counter() - started
    evaluation = evaluate_predictions(model.predict(test.x), test.y)
    return {"accuracy": float(evaluation.accuracy), "seconds": seconds, "images": len(test.y)}


def report(results: dict, numpy_run: dict, images: int, repeats: int) -> None:
    facts = results["facts"]
    print(f"\n== scratch: one epoch of {images} images, batch {BATCH}, Adam {LEARNING_RATE}, "
          f"fresh seeded weights per repeat; ours = the page's worker (trainer.train), TF.js "
          f"{facts['tfjs_version']} {facts['backend']} model.fit in its own page, "
          f"same model and weights; medians of {repeats} interleaved repeats ==")
    print(f"  TF.js renderer: {facts['renderer']}")
    print(row("", "ours", "tfjs webgl", "ours/tf"))
    ratios = {}
    for arch, measured in results["archs"].items():
        runs, first = measured["runs"], measured["first"]
        ours = median([r["ours_ms"] for r in runs]) / 1000
        tfjs = median([r["tfjs_ms"] for r in runs]) / 1000
        ratios[arch] = ours / tfjs
        print(f"\n  [{arch}] {runs[0]['ours_steps']} steps per epoch")
        print(row("epoch, s", f"{ours:.1f} s", f"{tfjs:.1f} s", f"{ratios[arch]:.2f}",
                  f"goal <= {GOAL}: {'met' if ratios[arch] <= GOAL else 'missed'}"))
        print(row("images/s", f"{images / ours:.0f}", f"{images / tfjs:.0f}"))
        print(row("first epoch (compiles), s", f"{first['ours_ms'] / 1000:.1f} s",
                  f"{first['tfjs_ms'] / 1000:.1f} s",
                  f"{first['ours_ms'] / first['tfjs_ms']:.2f}"))
        print(row("each repeat, s", " ".join(f"{r['ours_ms'] / 1000:.1f}" for r in runs),
                  " ".join(f"{r['tfjs_ms'] / 1000:.1f}" for r in runs)))
        print(f"  check: TF.js end-of-epoch train loss {runs[-1]['tfjs_loss']:.3f}, "
              f"accuracy {runs[-1]['tfjs_accuracy']:.3f}; TF.js tensors alive "
              f"{runs[-1]['tensors']}")
    schedule = results["schedule"]
    print(f"\n  accuracy after {SCHEDULE['arch']}, {SCHEDULE['epochs']} epochs of {images} "
          f"images, batch {BATCH}, Adam {LEARNING_RATE}, on {schedule['images']} test images:")
    print(f"    in the page {schedule['accuracy'] * 100:.2f}% ({schedule['ms'] / 1000:.1f} s), "
          f"numpy trainer {numpy_run['accuracy'] * 100:.2f}% ({numpy_run['seconds']:.1f} s)")
    print("  epoch ratio ours/TF.js (goal <= 0.5): " +
          ", ".join(f"{arch} {ratio:.2f}" for arch, ratio in ratios.items()))


def run(browser, archs: list[str], images: int, repeats: int) -> None:
    results = measure(browser, archs, images, repeats)
    report(results, numpy_schedule(images), images, repeats)


def rung_names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def bench_scratch_page(session) -> None:
    """bench/browser.py section `scratch_page`."""
    args = session.args
    run(session.browser, rung_names(args.scratch_models), args.scratch_images,
        args.scratch_repeats)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scratch-repeats", type=int, default=3,
                        help="scratch_page: interleaved one-epoch repeats per side (default 3)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.add_argument("--scratch-images", type=int, default=10_000,
                        help="training images per epoch (default 10000)")
    parser.add_argument("--scratch-models", default="mlp5_relu,cnn",
                        help="ladder rungs to time (default mlp5_relu,cnn)")
    parser.add_argument("--executable", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from server.headless_chromium import CHROMIUM_ARGS
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.executable, args=CHROMIUM_ARGS)
        try:
            run(browser, rung_names(args.scratch_models), args.scratch_images,
                args.scratch_repeats)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
