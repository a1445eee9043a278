// The drawing page's entry module. The runtime (shadernet.mjs, the public module: a worker
// with Pyodide, the runtime wheel and the model on an OffscreenCanvas WebGL2 context)
// starts before anything else, since Pyodide's start-up is most of the time to "Ready";
// the rest of the page (page.js and the modules it imports) loads while it boots, and
// drawing never waits for it.

import { compilePyodide, downloadServedSnapshot } from "./preload.js";
import { loadModel, startRuntime } from "./shadernet.mjs";

// The public module this page runs, for a script on the page that calls its runtime (the
// page may be bundled, server/page_bundle.py: importing static/shadernet.mjs then gives a
// module of its own, with no runtime started).
export * as shadernet from "./shadernet.mjs";

export const config = JSON.parse(document.getElementById("shadernet-config").textContent);
export const started = performance.now();
const canStart = typeof Worker !== "undefined" && typeof OffscreenCanvas !== "undefined";
// page.js sets onProgress once loaded (the status line and its bar).
export const startup = { onProgress: () => {} };
// The worker starts first (in startRuntime's call), then Pyodide's wasm compile, while the
// worker loads (preload.js); the default model downloads while Python boots.
// On a first visit the server's memory snapshot downloads alongside it.
let handOverWasm, handOverSnapshot;
const wasm = new Promise((resolve) => { handOverWasm = resolve; });
const snapshot = config.served_snapshot ? new Promise((resolve) => { handOverSnapshot = resolve; }) : null;
export const runtime = canStart ? startRuntime({
  pyodideUrl: config.pyodide_base_url, wheelUrl: config.runtime_wheel_url,
  stdlibUrl: config.pyodide_stdlib_url, snapshotKey: config.startup_key,
  servedSnapshot: config.served_snapshot, snapshot, wasm, model: config.default_model_url, onProgress: (stage) => startup.onProgress(stage),
}) : null;
handOverWasm(runtime ? compilePyodide(config) : null);
handOverSnapshot?.(runtime ? downloadServedSnapshot(config) : null);
export const firstModel = runtime && config.default_model_url ? loadModel(config.default_model_url) : null;
runtime?.catch(() => {});  // awaited by page.js
firstModel?.catch(() => {});

import("./page.js").catch((error) => {
  const status = document.getElementById("status-text");
  status.textContent = `Could not start: the page's scripts did not load (${error.message})`;
  status.parentElement.className = "status error";
});
// The service worker (sw.js) is for later visits: registered once this one has started
// and compiled its shaders, so its install (it fetches and keeps the page) does not
// compete with the start or the first prediction.
const registerShell = () => navigator.serviceWorker?.register("/sw.js").catch(() => {});
if (runtime) runtime.then((info) => info.warmedUp).then(registerShell, registerShell);
else window.addEventListener("load", registerShell);
