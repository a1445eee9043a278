// The drawing page's entry module. The worker (worker.js: Pyodide, the runtime wheel, the
// model, on an OffscreenCanvas WebGL2 context) starts before anything else, since Pyodide's
// start-up is most of the time to "Ready"; the rest of the page (page.js and the modules it
// imports) loads while it boots, and drawing never waits for it.

import { preloadFor } from "./preload.js";
import { ModelWorker } from "./worker_client.js";

export const config = JSON.parse(document.getElementById("shadernet-config").textContent);
export const started = performance.now();
const canStart = typeof Worker !== "undefined" && typeof OffscreenCanvas !== "undefined";
export const worker = canStart
  ? new ModelWorker(new URL("worker.js", new URL(config.static_url, location.href))) : null;
// Pyodide's wasm compile and the snapshot read start now, while the worker loads (preload.js).
export const init = worker ? worker.call("init", preloadFor(worker.worker, config)) : null;
init?.catch(() => {});  // awaited by page.js

import("./page.js").catch((error) => {
  const status = document.getElementById("status-text");
  status.textContent = `Could not start: the page's scripts did not load (${error.message})`;
  status.parentElement.className = "status error";
});
// The service worker (sw.js) is for later visits: registered once this one has started,
// so its install (fetching and keeping the whole shell) does not compete with the start.
const registerShell = () => navigator.serviceWorker?.register("/sw.js").catch(() => {});
if (init) init.then(registerShell, registerShell);
else window.addEventListener("load", registerShell);
