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
A new section: add the function, then one SECTIONS entry; reuse `session.page` (BenchPage:
.call, .python), `session.models`, `session.images` / `session.labels`, and
`session.browser` / `session.launch_args` for fresh contexts. The drawing page is driven with
tests/support/page_driver.py, the same driver as the end-to-end tests.

On this machine the browser renders with SwiftShader (the GPU emulated on the CPU), so
absolute times say little; the ratios are what carries over. `--gpu` adds flags to use a
real GPU (see bench/README.md) and the renderer string printed says what really ran.
"""


from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
from pathlib import Path
from typing import Callable

from bench.inference import bench_inference
from bench.layers_view import bench_layers
from bench.report import median
from bench.report import row as _row  # the startup section's name for it
from bench.session import (BIG_BATCH, REPO_ROOT, BenchModel, BenchPage, BenchSession,
                           load_images, prepare_models)
from bench.training import bench_training
from tests.support.page_driver import draw
from tests.support.static_server import StaticServer

DEFAULT_EXECUTABLE = "/usr/bin/chromium"
# Without the first two Chromium keeps calling Google's hosts, which cannot be reached here.
CHROMIUM_ARGS = ["--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
# A real GPU in headless Chromium on Linux: ANGLE on Vulkan (NVIDIA's or Mesa's ICD).
# `--gpu-flags "--use-gl=angle --use-angle=gl-egl"` tries ANGLE on EGL/OpenGL instead.
GPU_FLAGS = ["--enable-gpu", "--ignore-gpu-blocklist", "--use-gl=angle", "--use-angle=vulkan",
             "--enable-features=Vulkan", "--disable-vulkan-surface"]


# -- section: startup ------------------------------------------------------------------

# Issue 13: navigation -> "Ready" (and -> first prediction), ours / the TF.js page.
STARTUP_RATIO_GOALS = {"cold": 1.0, "warm": 0.5}
STARTUP_VISITS = ("cold", "warm", "upgrade")
STARTUP_TIMEOUT_MS = 120_000
SNAPSHOT_STORED_TIMEOUT_S = 60
TFJS_STARTUP_PAGE = "/bench-pages/tfjs_startup.html"
# Runs in every page of a start-up context before its own scripts: the navigation-relative
# time (performance.now()) at which the status line first contains "Ready" and the
# prediction first shows a digit. Both pages share these data-testid hooks.
STARTUP_OBSERVER = """(() => {
  const times = (window.__startup = {});
  const check = () => {
    const status = document.querySelector('[data-testid=status]');
    const prediction = document.querySelector('[data-testid=prediction]');
    const at = performance.now();
    if (status && times.ready === undefined && status.textContent.includes('Ready')) times.ready = at;
    if (status && /^Could not/.test(status.textContent)) times.error = status.textContent;
    if (prediction && times.first === undefined && /^[0-9]/.test(prediction.textContent)) times.first = at;
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true, characterData: true});
})();"""
STARTUP_DONE = ("() => { const t = window.__startup; if (t && t.error) throw new Error(t.error);"
                " return t && t.ready !== undefined && t.first !== undefined; }")
# Keys of the memory snapshots our page keeps in IndexedDB (static/snapshot_store.js).
SNAPSHOT_KEYS = """async () => {
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open('shadernet-startup', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('snapshots', {keyPath: 'key'});
    open.onsuccess = () => resolve(open.result); open.onerror = () => reject(open.error);
  });
  const keys = await new Promise((resolve) => {
    const request = db.transaction('snapshots').objectStore('snapshots').getAllKeys();
    request.onsuccess = () => resolve(request.result);
  });
  db.close();
  return keys;
}"""
# A "1" in canvas fractions, drawn as soon as the page has loaded (a person starts drawing
# while the model loads; the page reads the drawing the moment it is Ready).
STROKE = [(0.45, 0.25), (0.55, 0.15), (0.52, 0.5), (0.49, 0.85)]


class RequestLog:
    """ASGI wrapper that records (method, path, status, body bytes) of every request."""

    def __init__(self, app) -> None:
        self.app = app
        self.entries: list[tuple[str, str, int, int]] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        entry = [scope["method"], scope["path"], 0, 0]

        async def logged_send(message) -> None:
            if message["type"] == "http.response.start":
                entry[2] = message["status"]
            elif message["type"] == "http.response.body":
                entry[3] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, logged_send)
        finally:
            self.entries.append(tuple(entry))

    def since(self, mark: int) -> list[tuple[str, str, int, int]]:
        return self.entries[mark:]


class PageServer:
    """The real app (server.main.create_app) under uvicorn on 127.0.0.1:<free port>, on a
    temporary store and cache, plus bench/pages at /bench-pages for the TF.js page.

    `upgrade()` / `downgrade()` switch the runtime files between this checkout's wheel and
    the same wheel plus one module (another version, its .pyc compiled like the first's),
    as a deployment of new runtime code would, on the same origin."""

    def __init__(self, models_dir: Path, scratch: Path) -> None:
        import dataclasses
        import socket
        import zipfile

        import uvicorn

        from server.assets import REVALIDATE, VendorFiles
        from server.main import create_app
        from server.runtime_files import HashedFile, RuntimeFiles
        from server.settings import Settings

        app = create_app(Settings(models_dir=models_dir, store_dir=scratch / "store",
                                  cache_dir=scratch / "cache"))
        app.mount("/bench-pages", VendorFiles(REPO_ROOT / "bench" / "pages", REVALIDATE),
                  name="bench-pages")
        self.app = app
        current = app.state.assets.runtime
        current.bytecode.build()  # the .pyc, if the server's background build has not yet
        wheel = current.plain_wheel
        upgraded_path = scratch / "upgraded" / wheel.filename
        upgraded_path.parent.mkdir(parents=True)
        upgraded_path.write_bytes(wheel.data)
        with zipfile.ZipFile(upgraded_path, "a") as archive:
            archive.writestr("webgl_backend/_bench_upgrade.py", "VERSION = 'upgraded'\n")
        upgraded = RuntimeFiles(current.bytecode.pyodide_dir, current.pyodide_url,
                                scratch / "cache", compile_in_background=False,
                                wheel=HashedFile.of(wheel.filename, upgraded_path.read_bytes()))
        upgraded.bytecode.build()
        self._assets = {"current": app.state.assets,
                        "upgraded": dataclasses.replace(app.state.assets, runtime=upgraded)}
        self.log = RequestLog(app)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._server = uvicorn.Server(uvicorn.Config(self.log, log_level="warning",
                                                     lifespan="off"))
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._socket]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("bench startup: uvicorn did not start within 20 s")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def use(self, version: str) -> None:
        """Serve the "current" or the "upgraded" runtime files from the next request on."""
        self.app.state.assets = self._assets[version]

    def compiled(self) -> bool:
        files = self.app.state.assets.runtime.current()
        return files.stdlib is not None and files.wheel != self.app.state.assets.runtime.plain_wheel

    def tfjs_page_url(self) -> str:
        from urllib.parse import urlencode

        from server.routes.page import page_config

        state = self.app.state
        config = page_config(None, state.assets, state.settings, state.store)
        query = urlencode({"tfjs": config["tfjs_url"], "model": config["default_model_url"]})
        return f"{self.url}{TFJS_STARTUP_PAGE}?{query}"

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


def _visit(context, url: str, side: str) -> dict:
    """One navigation in `context`: ms to "Ready" and to the first prediction (navigation-
    relative, from the page's own clock), our start-up stages; on our page, unless it was
    restored from a snapshot, it then waits until the snapshot made after its start is
    stored. The page is closed."""
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(f"[{m.type}] {m.text}"))
    page.on("pageerror", lambda e: console.append(f"[pageerror] {e}"))
    page.set_default_timeout(STARTUP_TIMEOUT_MS)
    try:
        page.goto(url)
        if side == "ours":
            draw(page, [STROKE])
        page.wait_for_function(STARTUP_DONE, polling=100)
        # The warm-up mark lands just after "Ready"; give it a moment before reading.
        page.wait_for_function("() => !window.shadernetStartup || "
                               "window.shadernetStartup.warmup !== undefined", polling=100)
        result = page.evaluate("() => ({...window.__startup, stages: window.shadernetStartup"
                               " || null, tfjs: window.tfjsStages || null})")
        if side == "ours" and "restore" not in (result["stages"] or {}):
            _wait_snapshot_stored(page)  # made after the warm-up, in a second interpreter
    except Exception as error:
        raise RuntimeError(f"startup ({side}) {url}: {error}\n--- browser console ---\n"
                           + "\n".join(console[-40:])) from None
    finally:
        page.close()
    return result


def _wait_snapshot_stored(page) -> None:
    key = json.loads(page.locator("#shadernet-config").text_content())["startup_key"]
    deadline = time.monotonic() + SNAPSHOT_STORED_TIMEOUT_S
    while not any(k.startswith(key) for k in page.evaluate(SNAPSHOT_KEYS)):
        if time.monotonic() > deadline:
            raise RuntimeError(f"no memory snapshot stored under {key} within "
                               f"{SNAPSHOT_STORED_TIMEOUT_S} s")
        page.wait_for_timeout(100)


def _startup_run(session: BenchSession, server: PageServer, side: str, url: str) -> dict:
    """A fresh persistent profile (empty disk cache and IndexedDB): a cold visit, a warm one
    (snapshot present), then, after the server switched to the upgraded wheel, a third
    (ours must rebuild its snapshot; the TF.js page has nothing to upgrade: a warm visit)."""
    import shutil
    import tempfile

    profile = tempfile.mkdtemp(prefix="bench-profile-")
    server.use("current")
    context = session.browser.browser_type.launch_persistent_context(
        profile, executable_path=session.args.executable, args=session.launch_args,
        viewport={"width": 1280, "height": 1000})
    context.add_init_script(STARTUP_OBSERVER)
    visits = {}
    try:
        for visit in STARTUP_VISITS:
            if visit == "upgrade":
                server.use("upgraded")
            mark = len(server.log.entries)
            visits[visit] = _visit(context, url, side)
            visits[visit]["requests"] = server.log.since(mark)
    finally:
        context.close()
        server.use("current")
        shutil.rmtree(profile, ignore_errors=True)
    return visits


def _requests_summary(requests: list[tuple[str, str, int, int]]) -> str:
    statuses: dict[int, int] = {}
    for _, _, status, _ in requests:
        statuses[status] = statuses.get(status, 0) + 1
    size = sum(entry[3] for entry in requests)
    parts = ", ".join(f"{count} x {status}" for status, count in sorted(statuses.items()))
    return f"{len(requests)} requests ({parts}), {size / 1e6:.2f} MB"


def _big_requests(requests: list[tuple[str, str, int, int]], limit: int = 100_000) -> str:
    big = [f"{path.rsplit('/', 1)[-1]} {size / 1e6:.1f} MB" for _, path, status, size
           in requests if size >= limit]
    return ", ".join(big) or "none"


def _stage_rows(runs: list[dict], visit: str) -> list[tuple[str, float]]:
    """Median navigation-relative ms at the end of each of our start-up stages, in time
    order (the page shows "Ready" before the shader warm-up, which runs right after)."""
    keys = [("worker", "worker created (HTML, app.js, CSS)"),
            ("init", "worker running (worker.js)"),
            ("snapshot_read", "IndexedDB read + digest checked"),
            ("restore", "Python restored from the snapshot"),
            ("pyodide", "Python ready (Pyodide loaded)"),
            ("wheel", "runtime installed (wheel or snapshot)"),
            ("import", "runtime imported"),
            ("runtime", "GL context + session"), ("model", "model loaded"),
            ("ready", "\"Ready\" shown"), ("warmup", "shaders warmed up")]
    rows = []
    for key, label in keys:
        values = [run[visit]["stages"][key] for run in runs
                  if run[visit].get("stages") and key in run[visit]["stages"]]
        if values:
            rows.append((label, median(values)))
    return sorted(rows, key=lambda row: row[1])


def bench_startup(session: BenchSession) -> None:
    """Issue 13: navigation -> "Ready" / first prediction, cold, warm and after an
    upgrade, ours vs the TF.js page, in persistent profiles."""
    import shutil
    import tempfile

    runs_wanted = session.args.startup_runs
    cnn = prepare_models(["cnn"])["cnn"]
    scratch = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    shutil.copytree(cnn.folder, scratch / "models" / "default")
    server = PageServer(scratch / "models", scratch)
    compiled = server.compiled()
    urls = {"ours": server.url + "/", "tfjs": server.tfjs_page_url()}
    runs: dict[str, list[dict]] = {"ours": [], "tfjs": []}
    try:
        for run in range(runs_wanted):
            order = ("ours", "tfjs") if run % 2 == 0 else ("tfjs", "ours")
            for side in order:
                runs[side].append(_startup_run(session, server, side, urls[side]))
    finally:
        server.close()
        shutil.rmtree(scratch, ignore_errors=True)
    _print_startup(runs, runs_wanted, cnn, compiled)


def _print_startup(runs: dict[str, list[dict]], count: int, model: BenchModel,
                   compiled: bool) -> None:
    print(f"\n== startup: navigation -> \"Ready\" and -> first prediction; our page "
          f"(server.main.create_app under uvicorn, 127.0.0.1; .pyc "
          f"{'served' if compiled else 'NOT compiled: plain files'}) vs {TFJS_STARTUP_PAGE} "
          f"(tf.min.js, loadLayersModel, one predict) on the same server and model "
          f"({model.note}); each run a fresh persistent profile: cold, warm (snapshot "
          f"present), upgrade (runtime wheel changed: snapshot rebuilt; TF.js: a warm visit); "
          f"medians of {count}, page clock (performance.now() from navigation) ==")
    print(_row("", "ours", "tfjs page", "ours/tf"))
    for visit in STARTUP_VISITS:
        for key, label in (("ready", "Ready"), ("first", "first prediction")):
            ours = median([r[visit][key] for r in runs["ours"]])
            tfjs = median([r[visit][key] for r in runs["tfjs"]])
            goal = STARTUP_RATIO_GOALS.get(visit)
            note = "" if goal is None else \
                f"goal <= {goal}: {'met' if ours / tfjs <= goal else 'missed'}"
            print(_row(f"{visit}: navigation -> {label}", f"{ours / 1000:.2f} s",
                       f"{tfjs / 1000:.2f} s", f"{ours / tfjs:.2f}", note))
        samples = ", ".join(f"{r[visit]['ready'] / 1000:.2f}" for r in runs["ours"])
        restored = sum("restore" in (r[visit]["stages"] or {}) for r in runs["ours"])
        print(f"    ours {visit} Ready, each run (s): {samples}; restored from a snapshot "
              f"in {restored} of {len(runs['ours'])}")
    for visit in STARTUP_VISITS:
        rows = _stage_rows(runs["ours"], visit)
        if rows:
            print(f"  our {visit} start-up, median ms from navigation at the end of each stage:")
            previous = 0.0
            for label, at in rows:
                print(f"    {label:<38}{at:>8.0f}  (+{at - previous:.0f})")
                previous = at
    for side in ("ours", "tfjs"):
        for visit in STARTUP_VISITS:
            requests = runs[side][-1][visit]["requests"]
            print(f"  {side} {visit} visit reached the server with {_requests_summary(requests)};"
                  f" >= 0.1 MB: {_big_requests(requests)}")


# Section name -> function, run in this order. See the hook list in the module docstring.
SECTIONS: dict[str, Callable[[BenchSession], None]] = {
    "inference": bench_inference,
    "training": bench_training,
    "startup": bench_startup,
    "layers": bench_layers,
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
    parser.add_argument("--startup-runs", type=int, default=3,
                        help="cold + warm + upgrade visits per page, alternating (default 3)")
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
