// The drawing page's entry module. The worker (worker.js: Pyodide, the runtime wheel, the
// model, on an OffscreenCanvas WebGL2 context) starts before anything else, since Pyodide's
// start-up is most of the time to "Ready"; the rest of the page (page.js and the modules it
// imports) loads while it boots, and drawing never waits for it.

import { ModelWorker } from "./worker_client.js";

export const config = JSON.parse(document.getElementById("shadernet-config").textContent);
export const started = performance.now();
const canStart = typeof Worker !== "undefined" && typeof OffscreenCanvas !== "undefined";
export const worker = canStart
  ? new ModelWorker(new URL("worker.js", new URL(config.static_url, location.href))) : null;
export const init = worker ? worker.call("init", config) : null;
init?.catch(() => {});  // awaited by page.js

import("./page.js").catch((error) => {
  const status = document.getElementById("status-text");
  status.textContent = `Could not start: the page's scripts did not load (${error.message})`;
  status.parentElement.className = "status error";
});
window.addEventListener("load", () => navigator.serviceWorker?.register("/sw.js").catch(() => {}));
