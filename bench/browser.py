"""Ours (Pyodide + webgl_backend) vs TensorFlow.js 4.22 in the same headless Chromium.

    .venv/bin/python -m bench.browser [--runs 50] [--batch-runs 5] [--train-steps 10]
        [--startup-runs 3] [--models cnn,mlp] [--sections inference,training,startup]
        [--executable /usr/bin/chromium] [--gpu [--gpu-flags "..."]]

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
- training   bench_training: per model, one SGD step at batch 32, ours `fit_batch` vs
             TF.js `model.trainOnBatch`, interleaved: median step, first step (compiles
             included), draws / GL calls per step, the ratio (goal <= 0.7, issue 6).
- startup    bench_startup: navigation -> "Ready" and -> first prediction in a fresh
             persistent profile: cold, warm (memory snapshot present) and after an
             upgrade (runtime wheel changed), the real page (server.main.create_app
             under uvicorn) vs bench/pages/tfjs_startup.html on the same model and
             server; our start-up stages; what each visit asks the server for (goals,
             ours / TF.js: Ready <= 1.0 cold, <= 0.5 warm; issue 13).
- layers     bench_layers (bench/layers_view.py): on the real drawing page, a refresh
             with the "Layers" view open (worker `layers` + drawing the panel) vs a
             plain `predict`, interleaved round trips (goal <= 2x, issue 12).
- scratch_page  bench_scratch_page (bench/scratch_training.py): training from scratch
             on the real drawing page: one epoch (batch 100, Adam) in the page's worker,
             MNIST from /api/mnist, vs TF.js `model.fit` in its own page of the same
             browser, same layers and initial weights, interleaved repeats; the accuracy
             after a set schedule, page vs numpy (goal <= 0.5, issue 18).
A new section: a module with the function (like bench/inference.py, bench/startup.py), then
one SECTIONS entry; reuse `session.page` (BenchPage:
.call, .python), `session.models`, `session.images` / `session.labels`, and
`session.browser` / `session.launch_args` for fresh contexts. The drawing page is driven with
tests/support/page_driver.py, the same driver as the end-to-end tests.

On this machine the browser renders with SwiftShader (the GPU emulated on the CPU), so
absolute times say little; the ratios are what carries over. `--gpu` adds flags to use a
real GPU (see bench/README.md) and the renderer string printed says what really ran.
"""


from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Callable

from bench.inference import bench_inference
from bench.layers_view import bench_layers
from bench.scratch_training import add_arguments as add_scratch_page_arguments
from bench.scratch_training import bench_scratch_page
from bench.session import (BIG_BATCH, REPO_ROOT, BenchPage, BenchSession,
                           load_images, prepare_models)
from bench.startup import bench_startup
from bench.training import bench_training
from server.headless_chromium import CHROMIUM_ARGS
from tests.support.static_server import StaticServer

DEFAULT_EXECUTABLE = "/usr/bin/chromium"
# A real GPU in headless Chromium on Linux: ANGLE on Vulkan (NVIDIA's or Mesa's ICD).
# `--gpu-flags "--use-gl=angle --use-angle=gl-egl"` tries ANGLE on EGL/OpenGL instead.
GPU_FLAGS = ["--enable-gpu", "--ignore-gpu-blocklist", "--use-gl=angle", "--use-angle=vulkan",
             "--enable-features=Vulkan", "--disable-vulkan-surface"]


SECTIONS: dict[str, Callable[[BenchSession], None]] = {
    "inference": bench_inference,
    "training": bench_training,
    "startup": bench_startup,
    "layers": bench_layers,
    "scratch_page": bench_scratch_page,
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
    parser.add_argument("--train-steps", type=int, default=10,
                        help="training steps per side after warm-up (default 10)")
    parser.add_argument("--scratch-images", type=int, default=10000,
                        help="training images of the scratch_page section's epoch")
    parser.add_argument("--scratch-models", default="mlp5_relu,cnn",
                        help="comma list of ladder rungs for the scratch_page section")
    parser.add_argument("--startup-runs", type=int, default=3,
                        help="cold + warm + upgrade visits per page, alternating (default 3)")
    add_scratch_page_arguments(parser)
    args = parser.parse_args(argv)
    if min(args.runs, args.batch_runs, args.train_steps, args.startup_runs) < 1:
        parser.error(f"--runs, --batch-runs, --train-steps and --startup-runs must be >= 1, "
                     f"got {args.runs}, {args.batch_runs}, {args.train_steps}, "
                     f"{args.startup_runs}")
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
    print(f"shadernet bench.browser  {time.strftime('%Y-%m-%d %H:%M')}  "
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
    images, labels, image_note = load_images(BIG_BATCH)
    server = StaticServer(REPO_ROOT)
    flags = launch_args(args)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.executable, args=flags)
            page = BenchPage(browser, server)
            session = BenchSession(args, browser, server, flags, page, models, images,
                                   labels)
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
