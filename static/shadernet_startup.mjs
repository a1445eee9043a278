// The public module's start-up options (shadernet.mjs: startRuntime, loadModel,
// createTrainer): where Pyodide, its stdlib and the runtime wheel are, and which memory
// snapshot of the interpreter to restore and keep, as the worker's init config; and,
// after the start, Pyodide's JS loaded once more for the browser's code cache.
//
// Given URLs (pyodideUrl + wheelUrl) are used as they are; without them the server that
// serves this module says (GET /api/runtime), and with its start-up files it names the key
// a snapshot of them is kept under (`startup_key`) and the snapshot it offers a first visit
// (`served_snapshot`). So a page that passes no URLs restores this browser's own snapshot
// on a repeat visit and the server's on a first one. An option given wins over the
// server's: `snapshotKey: null` keeps none (nothing stored, nothing downloaded),
// `servedSnapshot: null` never downloads the server's (the page still keeps its own).

import { shadernetError } from "./shadernet.mjs";

// Where Pyodide, its stdlib and the wheel are, given in the options (else null).
export function givenUrls(options) {
  if (!options.pyodideUrl || !options.wheelUrl) return null;
  return { pyodideUrl: String(options.pyodideUrl), wheelUrl: String(options.wheelUrl),
           stdlibUrl: options.stdlibUrl && String(options.stdlibUrl),
           startupKey: null, servedSnapshot: null };
}

// Where they are on the server of this module, its start-up key and the snapshot it
// offers; every path resolved against the server (not the page, which may be elsewhere).
export async function askedUrls() {
  const url = new URL("/api/runtime", import.meta.url);
  const at = (path) => new URL(path, url).href;
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw shadernetError(`could not ask ${url} where Pyodide and the runtime wheel are `
                         + `(${error.message}); pass options.pyodideUrl and options.wheelUrl`, "fetch");
  }
  if (!response.ok) {
    throw shadernetError(`${url}: HTTP ${response.status}; a server that is not shadernet's `
                         + "needs options.pyodideUrl and options.wheelUrl", "fetch");
  }
  const runtime = await response.json();
  const served = runtime.served_snapshot;
  return { pyodideUrl: at(runtime.pyodide_base_url), wheelUrl: at(runtime.runtime_wheel_url),
           stdlibUrl: runtime.pyodide_stdlib_url && at(runtime.pyodide_stdlib_url),
           startupKey: runtime.startup_key || null,
           servedSnapshot: served ? { ...served, url: at(served.url) } : null };
}

const SERVED_FIELDS = { url: "string", key: "string", digest: "string", bytes: "number" };

// ArgumentError unless options.snapshotKey is undefined (the server's key), null (none) or
// a non-empty string, and options.servedSnapshot undefined, null or {url, key, digest,
// bytes} (and optionally checksum, a string); checked before anything starts.
export function checkSnapshotOptions(options) {
  const key = options.snapshotKey;
  if (!(key === undefined || key === null || (typeof key === "string" && key !== ""))) {
    throw shadernetError(`options.snapshotKey: expected a non-empty string, null (keep no `
                         + `snapshot) or nothing (the server's key); got ${JSON.stringify(key)}`,
                         "argument");
  }
  const served = options.servedSnapshot;
  if (served === undefined || served === null) return;
  const wrong = Object.entries(SERVED_FIELDS).find(([field, type]) =>
    typeof served !== "object" || typeof served[field] !== type)
    || (served.checksum != null && typeof served.checksum !== "string" && ["checksum", "string"]);
  if (wrong) {
    throw shadernetError(`options.servedSnapshot.${wrong[0]}: expected a ${wrong[1]} (the `
                         + "server's served_snapshot: {url, key, digest, checksum, bytes}) or null; got "
                         + JSON.stringify(served && served[wrong[0]]), "argument");
  }
}

// The worker's init config (worker.js start()) from `urls` (givenUrls' or askedUrls'
// answer) and the options (checked by checkSnapshotOptions): an option given wins over
// the server's; relative URLs given by the page are the page's.
export function initConfig(urls, options) {
  const base = new URL(urls.pyodideUrl.endsWith("/") ? urls.pyodideUrl : urls.pyodideUrl + "/",
                       location.href).href;
  const startupKey = options.snapshotKey !== undefined ? options.snapshotKey : urls.startupKey;
  const given = options.servedSnapshot;
  // Without a key the worker neither reads nor keeps a snapshot, the server's included.
  const served = !startupKey ? null : given === undefined ? urls.servedSnapshot
    : given && { ...given, url: new URL(given.url, location.href).href };
  return {
    pyodide_base_url: base, pyodide_module_url: base + "pyodide.mjs",
    pyodide_stdlib_url: urls.stdlibUrl ? new URL(urls.stdlibUrl, location.href).href
      : base + "python_stdlib.zip",
    runtime_wheel_url: new URL(urls.wheelUrl, location.href).href,
    startup_key: startupKey,
    default_model_url: options.model ? new URL(options.model, location.href).href : null,
    page_preload: options.wasm !== undefined && options.wasm !== null,
    served_snapshot: served,
    page_snapshot: Boolean(served) && options.snapshot !== undefined && options.snapshot !== null,
  };
}

// After the start-up model's warm-up (and the calls queued behind it, shadernet.mjs's
// whenIdle): Pyodide's runtime module (pyodide.asm.mjs, 1.2 MB) imported once more, on
// the page's thread. Chromium keeps a script's compiled code only from its second load,
// and the worker loads it once per visit, so a second visit's worker parsed it again (34
// ms of its thread); with this load the first visit makes the cache and the second
// visit's worker takes it (0.1 ms; second visits' "Ready" -68 ms, README). The page's
// import is compiled off its thread and only defines a function.
export function keepPyodideCompiled(config) {
  import(`${config.pyodide_base_url}pyodide.asm.mjs`).catch(() => {});  // only a cache
}
