"""bench/browser.py's startup section: navigation -> "Ready" and -> first prediction in a fresh
persistent profile (cold: the server's snapshot restored; warm: the browser's own; after a
wheel upgrade the server has none for the new wheel: Python boots and the snapshot is
rebuilt), the real page under uvicorn vs bench/pages/tfjs_startup.html on the same model
and server."""

from __future__ import annotations

import json
import time
from pathlib import Path

from bench.report import median
from bench.report import row as _row
from bench.session import REPO_ROOT, BenchModel, BenchSession, prepare_models
from tests.support.page_driver import draw

STARTUP_RATIO_GOALS = {"cold": 1.0, "warm": 0.5}
STARTUP_VISITS = ("cold", "warm", "upgrade")
STARTUP_TIMEOUT_MS = 120_000
SNAPSHOT_STORED_TIMEOUT_S = 60
TFJS_STARTUP_PAGE = "/bench-pages/tfjs_startup.html"
TFJS_PAGE_POLICY = "script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'; object-src 'none'"
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
# Keys of the memory snapshots our page keeps (static/snapshot_store.js).
SNAPSHOT_KEYS = """async () => (await import('/static/snapshot_store.js')).listSnapshots()
  .then((all) => all.map((entry) => entry.key))"""
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

    def __init__(self, models_dir: Path, scratch: Path, static_dir: Path | None = None,
                 bundled: bool = True) -> None:
        import dataclasses
        import zipfile

        from server.assets import REVALIDATE, VendorFiles
        from server.loopback_server import LoopbackServer
        from server.main import create_app
        from server.runtime_files import HashedFile, RuntimeFiles
        from server.settings import Settings

        pages = {"static_dir": static_dir} if static_dir else {}  # another version's page files
        if not bundled:
            pages["bundle_dir"] = None  # the page's modules one by one (server/page_bundle.py)
        app = create_app(Settings(models_dir=models_dir, store_dir=scratch / "store",
                                  cache_dir=scratch / "cache", **pages))
        class BenchPages(VendorFiles):
            """bench/pages with a CSP of their own: TF.js's bundle needs 'unsafe-eval',
            which the server's policy (for our page) refuses."""

            def file_response(self, *args, **kwargs):
                response = super().file_response(*args, **kwargs)
                response.headers["Content-Security-Policy"] = TFJS_PAGE_POLICY
                return response

        app.mount("/bench-pages", BenchPages(REPO_ROOT / "bench" / "pages", REVALIDATE),
                  name="bench-pages")
        self.app = app
        current = app.state.assets.runtime
        current.bytecode.build()  # the .pyc, if the server's background build has not yet
        app.state.assets.bundle.build()  # the page's bundle, likewise
        self.runtime = current
        wheel = current.plain_wheel
        upgraded_path = scratch / "upgraded" / wheel.filename
        upgraded_path.parent.mkdir(parents=True)
        upgraded_path.write_bytes(wheel.data)
        with zipfile.ZipFile(upgraded_path, "a") as archive:
            # Dated like the wheel's own entries: the same checkout gives the same upgraded
            # wheel, whose .pyc (in the shared .cache/pyc) the next run then finds compiled.
            marker = zipfile.ZipInfo("webgl_backend/_bench_upgrade.py",
                                     date_time=archive.infolist()[0].date_time)
            archive.writestr(marker, "VERSION = 'upgraded'\n")
        upgraded = RuntimeFiles(current.bytecode.pyodide_dir, current.pyodide_url,
                                scratch / "cache", compile_in_background=False,
                                wheel=HashedFile.of(wheel.filename, upgraded_path.read_bytes()))
        upgraded.bytecode.build()
        self._assets = {"current": app.state.assets,
                        "upgraded": dataclasses.replace(app.state.assets, runtime=upgraded)}
        self.log = RequestLog(app)
        self._server = LoopbackServer(self.log, start_timeout=20)
        self.url = self._server.url

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
        self._server.close()


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
            # Once the pen listens (page.js ran: the bars exist); a stroke before that is lost.
            page.get_by_test_id("prob-0").wait_for()
            draw(page, [STROKE])
        page.wait_for_function(STARTUP_DONE, polling=100)
        # The warm-up mark lands just after "Ready"; give it a moment before reading.
        page.wait_for_function("() => !window.shadernetStartup || "
                               "window.shadernetStartup.warmup !== undefined", polling=100)
        result = page.evaluate("() => ({...window.__startup, stages: window.shadernetStartup"
                               " || null, tfjs: window.tfjsStages || null})")
        stages = result["stages"] or {}
        if side == "ours" and ("restore" not in stages or "snapshot_fetched" in stages):
            # Made after the warm-up in a second interpreter, or the server's one kept.
            _wait_snapshot_stored(page)
    except Exception as error:
        seen = page.evaluate("() => ({status: document.querySelector('[data-testid=status]')"
                             "?.textContent, times: window.__startup,"
                             " stages: window.shadernetStartup || null})")
        raise RuntimeError(f"startup ({side}) {url}: {error}\npage: {seen}\n--- browser console ---\n"
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
            ("compiled", "Pyodide's wasm compiled (page or worker)"),
            ("snapshot_fetched", "server's snapshot downloaded"),
            ("snapshot_read", "snapshot read (OPFS / IndexedDB / server)"),
            ("wasm", "wasm instantiated"),
            ("restore", "Python restored (digest checked)"),
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
    # What `make setup` does: the page makes the snapshot served to first visits (for the
    # current wheel only: the upgraded one has none, as after a deployment without set-up).
    from server.snapshot_maker import make_served_snapshot

    make_served_snapshot(session.browser, server.url + "/", server.runtime)
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
        served = sum("snapshot_fetched" in (r[visit]["stages"] or {}) for r in runs["ours"])
        print(f"    ours {visit} Ready, each run (s): {samples}; restored from a snapshot "
              f"in {restored} of {len(runs['ours'])} (the server's in {served})")
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
