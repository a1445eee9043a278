"""Ours (Pyodide + webgl_backend) vs TensorFlow.js 4.22 in the same headless Chromium.

    .venv/bin/python bench/browser.py [--runs 50] [--batch-runs 5] [--models cnn,mlp]
        [--sections inference] [--executable /usr/bin/chromium] [--gpu [--gpu-flags "..."]]

One browser, one page (bench/pages/bench.html): Pyodide with our runtime wheel and TF.js
(webgl, and wasm for context) load side by side, get the same MNIST images as the same
host Float32Array, and write probabilities back into a host Float32Array (TF.js
`dataSync()`, ours one `readPixels`). Times are taken in the page with `performance.now()`
around each call; ours and TF.js alternate run by run (A/B/A/B) so a busy machine hits
both alike; medians are printed with the ratio ours / TF.js.

Sections (`--sections`, in SECTIONS order), each `fn(session: BenchSession) -> None`,
printing its own table:
- inference  bench_inference: per model, load -> first prediction (shader compiles
             included), median batch-1 latency, batch-256 time and images/s, draws /
             GL calls / programs per forward pass, TF.js wasm batch-1 latency (issue 5).
Hook list, sections being added by other helpers (add the function, then one SECTIONS
entry; reuse `session.page` (BenchPage: .call, .python), `session.models`, `session.images`,
and `session.browser` / `session.server` / `session.launch_args` for fresh contexts):
- training   bench_training(session): one SGD step at batch 32, ours `fit_batch` vs
             TF.js `model.trainOnBatch`, first step and median, draws per step (issue 6;
             today in bench/browser_training.py).
- startup    bench_startup(session): navigation -> "Ready" and -> first prediction, cold
             and warm, our page vs a TF.js page on the same model (issue 7).

On this machine the browser renders with SwiftShader (the GPU emulated on the CPU), so
absolute times say little; the ratios are what carries over. `--gpu` adds flags to use a
real GPU (see bench/README.md) and the renderer string printed says what really ran.
"""

from __future__ import annotations

import argparse
import base64
import functools
import http.server
import json
import os
import platform
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
PAGE_PATH = "bench/pages/bench.html"
CACHE_DIR = REPO_ROOT / ".cache" / "bench"
WHEEL_DIR = REPO_ROOT / "build" / "bench_wheels"
DEFAULT_EXECUTABLE = "/usr/bin/chromium"
# Without the first two Chromium keeps calling Google's hosts, which cannot be reached here.
CHROMIUM_ARGS = ["--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
# A real GPU in headless Chromium on Linux: ANGLE on Vulkan (NVIDIA's or Mesa's ICD).
# `--gpu-flags "--use-gl=angle --use-angle=gl-egl"` tries ANGLE on EGL/OpenGL instead.
GPU_FLAGS = ["--enable-gpu", "--ignore-gpu-blocklist", "--use-gl=angle", "--use-angle=vulkan",
             "--enable-features=Vulkan", "--disable-vulkan-surface"]
PAGE_TIMEOUT_MS = 300_000
NUM_CLASSES = 10
BIG_BATCH = 256
WARM_UP_RUNS = 5
# Goals of issue 5, as ratios ours / TF.js webgl in one run (lower is better).
GOALS = {"first": 0.5, "batch1": 0.5, "batch256": 1.0}


# -- models and data -------------------------------------------------------------------

@dataclass(frozen=True)
class BenchModel:
    name: str
    folder: Path
    note: str

    @property
    def url_path(self) -> str:
        return "/" + self.folder.relative_to(REPO_ROOT).as_posix()


def _export_random(name: str, build_layers) -> Path:
    """Export a seeded random-init model into .cache/bench/<name>/ (fine for timing)."""
    from model_export.architectures import MNIST_INPUT_SHAPE
    from model_export.export import export_model
    from model_export.model import Sequential

    folder = CACHE_DIR / name
    if not (folder / "model.json").is_file():
        export_model(Sequential(build_layers(), MNIST_INPUT_SHAPE, seed=0), folder)
    return folder


def prepare_models(names: list[str]) -> dict[str, BenchModel]:
    """cnn: models/default (the shipped CNN); mlp: 784-512-10, random init, exported here."""
    from model_export.architectures import cnn_layers, mlp_layers

    models = {}
    for name in names:
        if name == "cnn":
            folder = REPO_ROOT / "models" / "default"
            note = "models/default, trained CNN"
            if not (folder / "model.json").is_file():
                folder = _export_random("cnn", cnn_layers)
                note = "models/default missing: random-init CNN in .cache/bench/cnn"
        elif name == "mlp":
            folder = _export_random("mlp", mlp_layers)
            note = "784-512-10 MLP, random init, .cache/bench/mlp"
        else:
            raise ValueError(f"--models: unknown model '{name}'. Expected cnn and/or mlp.")
        models[name] = BenchModel(name, folder, note)
    return models


def load_images(count: int) -> tuple[np.ndarray, str]:
    """(count, 28, 28, 1) float32: MNIST test images, or seeded noise without MNIST."""
    from model_export.data import DataError, load_split

    try:
        return np.ascontiguousarray(load_split("test").x[:count]), "MNIST test images"
    except (DataError, OSError) as error:
        rng = np.random.default_rng(0)
        noise = rng.random((count, 28, 28, 1), dtype=np.float32)
        return noise, f"random images (MNIST not loaded: {error})"


# -- browser plumbing ------------------------------------------------------------------

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".mjs": "text/javascript",
                      ".js": "text/javascript", ".json": "application/json",
                      ".whl": "application/zip", ".zip": "application/zip",
                      ".bin": "application/octet-stream", ".py": "text/plain"}

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass


class StaticServer:
    """The repo root on 127.0.0.1 (like tests/support/static_server.py, which a script run
    as `python bench/browser.py` cannot import)."""

    def __init__(self, root: Path) -> None:
        handler = functools.partial(_QuietHandler, directory=str(root))
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class BenchPage:
    """bench/pages/bench.html loaded in a fresh context: Pyodide + our wheel + TF.js."""

    def __init__(self, browser, server: StaticServer) -> None:
        from webgl_backend.wheel import build_runtime_wheel

        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"[{m.type}] {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"[pageerror] {e}"))
        self.page.set_default_timeout(PAGE_TIMEOUT_MS)
        self.page.goto(f"{server.url}/{PAGE_PATH}")
        self.pyodide_load_ms = self.page.evaluate("() => window.benchReady")
        wheel = build_runtime_wheel(WHEEL_DIR)
        self.facts = self.call("setup", f"/{wheel.relative_to(REPO_ROOT).as_posix()}")

    def call(self, name: str, *args):
        """await window.bench[name](...args) in the page; the browser console on failure."""
        mark = len(self.console)
        try:
            return self.page.evaluate(f"(args) => window.bench.{name}(...args)", list(args))
        except Exception as error:  # playwright.Error carries the JS/Python traceback
            console = "\n".join(self.console[mark:][-40:])
            raise RuntimeError(f"bench.{name}: {error}\n--- browser console ---\n"
                               f"{console}") from None

    def python(self, code: str):
        """Run Python in the page's Pyodide; its last expression (JSON text) decoded."""
        text = self.call("python", code)
        return json.loads(text) if isinstance(text, str) else text

    def close(self) -> None:
        self.context.close()


@dataclass
class BenchSession:
    """What every section gets: the args, the loaded page, the models and the images."""

    args: argparse.Namespace
    browser: object
    server: StaticServer
    launch_args: list[str]
    page: BenchPage
    models: dict[str, BenchModel]
    images: np.ndarray
    notes: list[str] = field(default_factory=list)

    def set_images(self, count: int) -> None:
        """Hand the first `count` images to the page (both sides read the same array)."""
        images = self.images[:count]
        encoded = base64.b64encode(images.astype(np.float32).tobytes()).decode("ascii")
        self.page.call("setImages", encoded, len(images), int(np.prod(images.shape[1:])),
                       NUM_CLASSES)


# -- statistics and printing -----------------------------------------------------------

def median(samples: list[float]) -> float:
    return statistics.median(samples)


def spread(samples: list[float]) -> str:
    """Interquartile range, 'p25-p75', to show how noisy the median is."""
    if len(samples) < 4:
        return f"{min(samples):.1f}-{max(samples):.1f}"
    quartiles = statistics.quantiles(samples, n=4)
    digits = 2 if quartiles[2] < 10 else 0
    return f"{quartiles[0]:.{digits}f}-{quartiles[2]:.{digits}f}"


def _ms(value: float) -> str:
    return f"{value:.2f} ms" if value < 10 else f"{value:.0f} ms"


def _goal(ratio: float, key: str) -> str:
    goal = GOALS[key]
    return f"goal <= {goal}: {'met' if ratio <= goal else 'missed'}"


def _row(label: str, ours: str, tfjs: str, ratio: str = "", note: str = "") -> str:
    return f"  {label:<34}{ours:>16}{tfjs:>16}{ratio:>9}  {note}".rstrip()


def _counts(c: dict) -> str:
    return f"{c['draws']}/{c['gl_calls']}/{c['programs']}"


# -- section: inference ----------------------------------------------------------------

def _bench_model_inference(session: BenchSession, model: BenchModel) -> dict:
    """All inference figures of one model (raw samples in, medians out)."""
    page, args = session.page, session.args
    url = session.server.url + model.url_path
    result = {"model": model.name, "note": model.note}
    result["ours_first"] = page.call("oursFirst", url)
    result["tfjs_first"] = page.call("tfFirst", url)
    page.call("interleave", 1, WARM_UP_RUNS)
    batch1 = page.call("interleave", 1, args.runs)
    result["batch1"] = batch1
    result["counts1"] = page.call("counts", 1)
    # The first batch-256 call compiles that batch size's programs on both sides.
    first_big = page.call("interleave", BIG_BATCH, 1)
    result["first_big"] = {side: samples[0] for side, samples in first_big.items()}
    result["big"] = page.call("interleave", BIG_BATCH, args.batch_runs)
    result["counts_big"] = page.call("counts", BIG_BATCH)
    result["agreement"] = page.call("agreement", BIG_BATCH)
    result["tfjs_tensors_left"] = page.call("tfDispose")
    if not args.no_wasm:
        result["wasm"] = page.call("wasmLatency", url, WARM_UP_RUNS, args.runs)
    return result


def _print_model_inference(r: dict, runs: int, batch_runs: int) -> dict[str, float]:
    ours_first, tfjs_first = r["ours_first"], r["tfjs_first"]
    b1_ours, b1_tfjs = median(r["batch1"]["ours"]), median(r["batch1"]["tfjs"])
    big_ours, big_tfjs = median(r["big"]["ours"]), median(r["big"]["tfjs"])
    ratios = {"first": ours_first["total_ms"] / tfjs_first["total_ms"],
              "batch1": b1_ours / b1_tfjs, "batch256": big_ours / big_tfjs}
    print(f"\n[{r['model']}] {r['note']}")
    print(_row("", "ours", "tfjs webgl", "ours/tf"))
    print(_row("load -> first prediction (b1)", _ms(ours_first["total_ms"]),
               _ms(tfjs_first["total_ms"]), f"{ratios['first']:.2f}", _goal(ratios["first"],
                                                                                "first")))
    print(_row("  fetch+upload (+ours: compile)", _ms(ours_first["load_ms"]),
               _ms(tfjs_first["load_ms"])))
    print(_row("  first predict", _ms(ours_first["predict_ms"]),
               _ms(tfjs_first["predict_ms"])))
    print(_row(f"batch-1 latency, median of {runs}", _ms(b1_ours), _ms(b1_tfjs),
               f"{ratios['batch1']:.2f}", _goal(ratios["batch1"], "batch1")))
    print(_row("  interquartile range, ms", spread(r["batch1"]["ours"]),
               spread(r["batch1"]["tfjs"])))
    print(_row(f"batch-{BIG_BATCH} time, median of {batch_runs}", _ms(big_ours), _ms(big_tfjs),
               f"{ratios['batch256']:.2f}", _goal(ratios["batch256"], "batch256")))
    ours_ips, tfjs_ips = 1000 * BIG_BATCH / big_ours, 1000 * BIG_BATCH / big_tfjs
    print(_row(f"batch-{BIG_BATCH} images/s", f"{ours_ips:.0f}", f"{tfjs_ips:.0f}",
               f"{ours_ips / tfjs_ips:.2f}", "higher is better"))
    print(_row(f"first batch-{BIG_BATCH} (compiles)", _ms(r["first_big"]["ours"]),
               _ms(r["first_big"]["tfjs"])))
    print(_row("draws/GL calls/programs, b1", _counts(r["counts1"]["ours"]),
               _counts(r["counts1"]["tfjs"])))
    print(_row(f"draws/GL calls/programs, b{BIG_BATCH}", _counts(r["counts_big"]["ours"]),
               _counts(r["counts_big"]["tfjs"])))
    if "wasm" in r:
        wasm = r["wasm"]
        print(_row("tfjs wasm batch-1 latency", "", _ms(median(wasm["samples"])), "",
                   f"first {_ms(wasm['first_ms'])}; context only"))
    agreement = r["agreement"]
    print(f"  check: batch {agreement['n']}, max |ours - tfjs| probability "
          f"{agreement['max_abs_diff']:.2e}, same argmax {agreement['same_argmax']}/"
          f"{agreement['n']}")
    return ratios


def bench_inference(session: BenchSession) -> None:
    """Issue 5: ours vs TF.js webgl inference, per model (see the module docstring)."""
    session.set_images(BIG_BATCH)
    print(f"\n== inference: ours (Pyodide + webgl_backend) vs TF.js "
          f"{session.page.facts['tfjs_version']} webgl; times from performance.now() in "
          f"the page, ours and TF.js alternating ==")
    summary = {}
    for model in session.models.values():
        result = _bench_model_inference(session, model)
        summary[model.name] = _print_model_inference(result, session.args.runs,
                                                     session.args.batch_runs)
        if result["tfjs_tensors_left"]:
            session.notes.append(f"{model.name}: TF.js kept {result['tfjs_tensors_left']} "
                                 "tensors after dispose")
    print(f"\n  ratios ours/TF.js (lower is better; goals: first <= {GOALS['first']}, "
          f"b1 <= {GOALS['batch1']}, b{BIG_BATCH} <= {GOALS['batch256']})")
    print(f"  {'model':<8}{'first':>8}{'b1':>8}{f'b{BIG_BATCH}':>8}")
    for name, ratios in summary.items():
        print(f"  {name:<8}{ratios['first']:>8.2f}{ratios['batch1']:>8.2f}"
              f"{ratios['batch256']:>8.2f}")


# Section name -> function, run in this order. See the hook list in the module docstring.
SECTIONS: dict[str, Callable[[BenchSession], None]] = {
    "inference": bench_inference,
}


# -- main ------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Ours (Pyodide + webgl_backend) vs TensorFlow.js in headless Chromium.")
    parser.add_argument("--runs", type=int, default=50,
                        help="batch-1 runs per side after warm-up (default 50)")
    parser.add_argument("--batch-runs", type=int, default=5,
                        help=f"batch-{BIG_BATCH} runs per side (default 5)")
    parser.add_argument("--models", default="cnn,mlp", help="comma list of cnn, mlp")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma list of {', '.join(SECTIONS)}")
    parser.add_argument("--executable", default=DEFAULT_EXECUTABLE,
                        help=f"Chromium binary (default {DEFAULT_EXECUTABLE})")
    parser.add_argument("--gpu", action="store_true",
                        help="use a real GPU: adds " + " ".join(GPU_FLAGS))
    parser.add_argument("--gpu-flags", default=None,
                        help="with --gpu: these Chromium flags instead of the defaults")
    parser.add_argument("--no-wasm", action="store_true", help="skip the TF.js wasm figure")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.batch_runs < 1:
        parser.error(f"--runs and --batch-runs must be >= 1, got {args.runs}, "
                     f"{args.batch_runs}")
    args.model_names = [m.strip() for m in args.models.split(",") if m.strip()]
    args.section_names = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in args.section_names if s not in SECTIONS]
    if unknown:
        parser.error(f"--sections: unknown {unknown}; expected some of {list(SECTIONS)}")
    if not Path(args.executable).is_file():
        parser.error(f"--executable: {args.executable} not found (Debian: apt-get install "
                     "chromium)")
    return args


def launch_args(args: argparse.Namespace) -> list[str]:
    if not args.gpu:
        return list(CHROMIUM_ARGS)
    flags = args.gpu_flags.split() if args.gpu_flags is not None else GPU_FLAGS
    return CHROMIUM_ARGS + flags


def _print_header(session: BenchSession, browser_version: str, image_note: str) -> None:
    facts, page = session.page.facts, session.page
    print(f"shadernet bench/browser.py  {time.strftime('%Y-%m-%d %H:%M')}  "
          f"{platform.node()}, {os.cpu_count()} cores, load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"browser: Chromium {browser_version} headless, flags: "
          f"{' '.join(session.launch_args)}")
    print(f"WebGL renderer (ours):  {facts['renderer_ours']}")
    print(f"WebGL renderer (TF.js): {facts['renderer_tfjs']}")
    if session.args.gpu and "swiftshader" in facts["renderer_ours"].lower():
        print("WARNING: --gpu given but the renderer is SwiftShader (CPU): the GPU flags "
              "did not take; see bench/README.md")
    print(f"page: Pyodide loaded in {page.pyodide_load_ms:.0f} ms, runtime wheel + TF.js "
          f"webgl ready in {facts['wheel_ms']:.0f} ms; inputs: {image_note}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from playwright.sync_api import sync_playwright

    models = prepare_models(args.model_names)
    images, image_note = load_images(BIG_BATCH)
    server = StaticServer(REPO_ROOT)
    flags = launch_args(args)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.executable, args=flags)
            page = BenchPage(browser, server)
            session = BenchSession(args, browser, server, flags, page, models, images)
            _print_header(session, browser.version, image_note)
            for name in args.section_names:
                SECTIONS[name](session)
                sys.stdout.flush()
            left = page.python("import json; ours_dispose(); json.dumps(ours_live_textures())")
            if left:
                session.notes.append(f"ours: {left} textures still live after dispose")
            page.close()
            browser.close()
    finally:
        server.close()
    for note in session.notes:
        print(f"note: {note}")
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
