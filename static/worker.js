// The public module's worker (shadernet.mjs starts it): Pyodide + the shadernet runtime on
// an OffscreenCanvas WebGL2 context. The model work is Python (webgl_backend/
// model_sessions.py, scratch/); this file only loads things and relays messages.
//
// main -> worker: {id, method, args}           worker -> main: {id, result} | {id, error}
//                 {type: "preload", wasm} (no id): Pyodide's compiled wasm, from the page
//                 (preload.js), awaited when init's config says `page_preload`;
//                 {type: "preload", snapshot}: the server's snapshot as the page
//                 downloaded it (ArrayBuffer) or null, awaited when it says `page_snapshot`
// worker -> main (no id): {type: "progress", stage, message, fraction} while starting
//                         (stage: download, restore, python, runtime, model, warmup),
//                         {type: "warmup", ms, at} once the shaders are compiled
//                         (or {type: "warmup", error, code, at} if that failed),
//                         {type: "snapshot", stored, bytes, error} once a new memory
//                         snapshot of the interpreter is stored (static/snapshot_store.js),
//                         {type: "fit", token, step, ...} while a model fine-tunes,
//                         {type: "trainer", token, kind, ...} while training from
//                         scratch (worker_training.js), {type: "context", state, message}.

import { RESEED, bootPython, makeSnapshot, preload, snapshotKey, unpackWheel } from "./python_boot.js";
import { fetchServed } from "./snapshot_served.js";
import * as snapshots from "./snapshot_store.js";
import { TRANSFER, modelMethods, watchContext } from "./worker_models.js";
import { trainingMethods } from "./worker_training.js";
// Imported by the modules above; named here too so that they are fetched with them, not
// one round trip later (the module graph is the worker's first wait).
import "./engine_traits.js";
import "./snapshot_idb.js";
import "./snapshot_opfs.js";
import "./snapshot_pages.js";
import "./stdlib_deferred.js";
import { shareSmallModules } from "./wasm_trampolines.js";

shareSmallModules();  // before pyodide.asm.mjs makes its trampolines

let session = null;        // PyProxy of worker_api.PageSession
let pyodide = null;
let warmed = null;         // resolves once the first model is loaded and its shaders compiled
let ready = null;          // ... and, after a restore, the wheel's files unpacked

const post = (message, transfer) => self.postMessage(message, transfer || []);

// An Error with a `code` the public module (shadernet.mjs) turns into its error class.
function codedError(message, code) {
  return Object.assign(new Error(message), { code });
}

// A fetch that could not reach the server at all (not an HTTP error): say so plainly.
function unreachable(error, url) {
  return codedError(`The server is unreachable (${new URL(url, self.location.href).origin}): `
                    + `could not load ${url} (${error.message || error}). Reload the page once it is back.`,
                    "fetch");
}

async function fetchOk(url, what) {
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw unreachable(error, url);
  }
  if (!response.ok) {
    let detail = "";
    try { detail = (await response.json()).detail || ""; } catch (_) { /* not JSON */ }
    throw codedError(`${what}: HTTP ${response.status} for ${url}${detail ? ": " + detail : ""}`, "fetch");
  }
  return response;
}

// model.json and every shard it lists, fetched in parallel: {text, shards: {path: Uint8Array}}.
async function fetchModel(modelJsonUrl) {
  const text = await (await fetchOk(modelJsonUrl, "model.json")).text();
  const base = modelJsonUrl.slice(0, modelJsonUrl.lastIndexOf("/") + 1);
  let manifest;
  try { manifest = JSON.parse(text).weightsManifest || []; } catch (error) {
    throw codedError(`model.json at ${modelJsonUrl} is not JSON: ${error.message}`, "model-format");
  }
  const paths = manifest.flatMap((group) => group.paths || []);
  const buffers = await Promise.all(paths.map(async (path) =>
    new Uint8Array(await (await fetchOk(base + path, "weight shard")).arrayBuffer())));
  return { text, shards: Object.fromEntries(paths.map((path, i) => [path, buffers[i]])) };
}

// Python values to plain JS (dicts become objects); the PyProxy is destroyed.
function toJs(value) {
  if (value && typeof value.toJs === "function") {
    try { return value.toJs({ dict_converter: Object.fromEntries, create_pyproxies: false }); }
    finally { value.destroy(); }
  }
  return value;
}

// A Python exception's own lines ("ValueError: ...", "webgl_backend.errors.
// ShaderCompileError: ..." and the lines of its message after) rather than the traceback.
function errorMessage(error) {
  const text = String((error && error.message) || error);
  if (error && error.type) {
    const lines = text.trim().split("\n");
    const own = new RegExp(`^(?:[\\w.]+\\.)?${error.type}(?::|$)`);
    const start = lines.findLastIndex((line) => own.test(line));
    return start >= 0 ? lines.slice(start).join("\n") : lines[lines.length - 1];
  }
  return text;
}

// The error's `code` (see shadernet.mjs): set on our own JS errors, from the class of a
// Python one (webgl_backend/errors.py).
const PYTHON_ERROR_CODES = {
  WebGL2UnavailableError: "webgl2-unavailable", ContextLostError: "context-lost",
  ModelFormatError: "model-format", ShapeError: "shape", TrainingError: "training",
  TrainingUnavailableError: "training", ShaderCompileError: "shader-compile",
  ValueError: "argument", TypeError: "argument", OptionError: "argument",
};

function errorCode(error) {
  if (error && error.code) return error.code;
  const code = PYTHON_ERROR_CODES[error && error.type];
  if (code === "webgl2-unavailable" && /EXT_color_buffer_float/.test(error.message)) {
    return "float-render-targets";
  }
  return code || "runtime";
}

// Pyodide's wasm as the page compiled it (preload.js), once its "preload" message comes:
// a WebAssembly.Module, or null if the page's compile failed.
let takeCompiled;
const compiledByPage = new Promise((resolve) => { takeCompiled = resolve; });
// The server's snapshot as the page downloaded it on a first visit (ArrayBuffer), or null.
let takeServed;
const servedByPage = new Promise((resolve) => { takeServed = resolve; });

const STAGES = ["download", "python", "runtime", "model", "warmup"];
let snapshotToMake = null;   // {loadPyodide, options, preloaded, key, wheel} when none was restored
let snapshotToKeep = null;   // {key, bytes}: the server's snapshot, restored, kept after "Ready"
let wheelToUnpack = null;    // after a restore: () => the wheel's bytes, unpacked after "Ready"

// {type: "progress", stage, message, fraction}: fraction = share of the start-up stages done.
function stage(name, message) {
  const index = STAGES.indexOf(name === "restore" ? "python" : name);
  post({ type: "progress", stage: name, message, fraction: Math.max(index, 0) / STAGES.length });
}

// Loads Pyodide, the runtime and the first model; resolves once the model can predict.
// The shader warm-up is left to warmUp(), which runs right after the page is told "Ready".
async function start(config) {
  const t0 = performance.now();
  const seconds = () => ((performance.now() - t0) / 1000).toFixed(1);
  const timings = {};  // stage -> ms since the worker started, for the 'Under the hood' panel
  const mark = (name) => { timings[name] = Math.round(performance.now() - t0); };
  // started_at: when this began on the shared wall clock, so the page can place the
  // stages on its own navigation timeline (performance.timeOrigin differs per thread).
  const startedAt = performance.timeOrigin + t0;
  const key = snapshotKey(config);
  stage("download", "Loading Python (Pyodide)…");
  // Everything starts at once, Pyodide first: its wasm compile, its modules, the stored
  // snapshot, then the runtime wheel and the model download while Python boots.
  const options = { indexURL: config.pyodide_base_url, stdLibURL: config.pyodide_stdlib_url };
  const preloaded = preload(options, config.page_preload ? compiledByPage : null);
  preloaded.wasm.then(() => mark("compiled"), () => {});
  const pyodideModule = import(config.pyodide_module_url);
  // Its runtime module too (loadPyodide imports the same URL later): one module map entry.
  import(`${config.pyodide_base_url}pyodide.asm.mjs`).catch(() => {});
  // This browser's own snapshot, else the one the server offers (a first visit).
  const storedLoading = !key ? Promise.resolve({ bytes: null, reason: "no key" })
    : snapshots.readSnapshot(key).then((stored) => {
      if (stored.bytes) return stored;
      return fetchServed(config.served_snapshot, key, stored.reason === "none" ? "none stored" : stored.reason,
                         config.page_snapshot ? servedByPage : null)
        .then((served) => { if (served.bytes) mark("snapshot_fetched"); return served; });
    });
  // The wheel is needed at once only for a normal start: after a restore its files are
  // unpacked after "Ready", so it downloads then, not while the start-up's files do.
  const fetchWheel = () => fetchOk(config.runtime_wheel_url, "runtime wheel").then((r) => r.arrayBuffer());
  const wheelLoading = storedLoading.then((stored) => (stored.bytes ? null : fetchWheel()));
  const modelLoading = config.default_model_url ? fetchModel(config.default_model_url) : null;
  wheelLoading.catch(() => {});  // reported below, when awaited
  modelLoading?.catch(() => {});
  let loadPyodide;
  try {
    ({ loadPyodide } = await pyodideModule);
  } catch (error) {
    throw unreachable(error, config.pyodide_module_url);
  }
  const stored = await storedLoading;
  mark("snapshot_read");
  const booted = await bootPython(loadPyodide, options, preloaded, key, stored, { stage, mark });
  pyodide = booted.python;
  const { restored, snapshot } = booted;  // snapshot: what happened to it, in words
  mark("pyodide");
  stage("runtime", `Python ready (${seconds()} s); installing the shadernet runtime…`);
  if (restored) {
    pyodide.runPython(RESEED);
    wheelToUnpack = fetchWheel;  // the runtime's modules came with the snapshot
    if (stored.source === "served") snapshotToKeep = { key, bytes: stored.bytes };
  } else {
    const wheel = await wheelLoading || await fetchWheel();  // a restore that failed: fetched now
    unpackWheel(pyodide, wheel);
    if (key) snapshotToMake = { loadPyodide, options, preloaded, key, wheel };
  }
  mark("wheel");
  const api = pyodide.pyimport("webgl_backend.worker_api");
  const context = pyodide.pyimport("webgl_backend.context");
  mark("import");
  let gl;
  try {
    gl = context.create_webgl2_context();
    session = api.PageSession(gl);
    watchContext(gl, post);  // {type: "context", state: "lost" | "restored", message}
  } finally {
    gl?.destroy?.();
    context.destroy();
    api.destroy();
  }
  mark("runtime");
  if (!modelLoading) {
    return { model: null, timings, started_at: startedAt, snapshot };
  }
  stage("model", `Runtime ready (${seconds()} s); loading the model…`);
  const info = loadFiles(await modelLoading);
  mark("model");
  // Posted before init's reply, so a page that shows stages sees the warm-up begin with "Ready".
  stage("warmup", "Model ready; compiling its shaders in the background…");
  return { model: info, timings, started_at: startedAt, snapshot };
}

// Posted as {type: "snapshot", stored, bytes, error} (python_boot.makeSnapshot): a new
// one made, or the server's (restored and checked) kept for the next visit.
async function storeNewSnapshot() {
  const job = snapshotToMake;
  const served = snapshotToKeep;
  snapshotToMake = snapshotToKeep = null;
  if (served) {
    const error = await snapshots.writeSnapshot(served.key, served.bytes);
    post({ type: "snapshot", stored: error === null, bytes: served.bytes.byteLength, error });
    return;
  }
  if (!job) return;
  const made = await makeSnapshot(job.loadPyodide, job.options, job.preloaded, job.key, job.wheel);
  post({ type: "snapshot", ...made });
}

// Compile and draw every forward program once (SwiftShader compiles at a program's first
// draw: 7-26 ms each). Posted to the page as {type: "warmup", ms, at}, or {type: "warmup",
// error, code, at} if it failed: the start-up goes on (the snapshot is still kept), and a
// prediction meets the same failure itself and reports it.
function warmUp(result) {
  const at = () => performance.timeOrigin + performance.now();
  try {
    const warm = toJs(session.warm_up());
    post({ type: "warmup", ms: warm.ms, at: at() });
  } catch (error) {
    post({ type: "warmup", error: errorMessage(error), code: errorCode(error), at: at() });
  }
  return result;
}

function loadFiles(files) {
  const shards = pyodide.toPy(files.shards, { depth: 1 });
  try {
    return toJs(session.load(files.text, shards));
  } finally {
    shards.destroy();
  }
}

// The public module names the worker "shadernet-init:" + init's config as JSON, so the
// start begins as this module runs; init (the same config, by message) then takes it
// over. A worker named otherwise starts at init.
const WORKER_NAME_PREFIX = "shadernet-init:";
let startedFromName = null;  // {text: the config's JSON, result: start(config)}

function startFromName() {
  const name = self.name || "";
  if (!name.startsWith(WORKER_NAME_PREFIX)) return;
  const text = name.slice(WORKER_NAME_PREFIX.length);
  let config;
  try { config = JSON.parse(text); } catch (_) { return; }
  const result = start(config);
  result.catch(() => {});  // reported by init's reply
  startedFromName = { text, result };
}

// start(config), or the start already begun from the worker's name with this config.
function begin(config) {
  const early = startedFromName;
  startedFromName = null;
  return early && early.text === JSON.stringify(config) ? early.result : start(config);
}

// The public module's protocol (shadernet.mjs), the only one: `init` starts the runtime
// (and loads the first model, downloaded while Python boots); the model_*, context_* and
// trainer_* methods come from worker_models.js and worker_training.js.
const METHODS = {
  // Replies as soon as the model can predict; the warm-up follows in the next task, after
  // the reply is posted, then the wheel's files (after a restore) in the one after.
  // Predictions wait for the warm-up (`warmed`), every other call for both (`ready`), so
  // predictions are the same, only the first one may wait for the compiles. A start-up
  // model that fails to load leaves the runtime running: the reply says why in
  // `model_error`.
  init(config) {
    const loading = begin(config).then(
      (result) => (result.model ? { ...result, model: { ...result.model, id: models.adopt(session) } }
        : result),
      (error) => {
        if (!session || !config.default_model_url) throw error;  // the runtime did not start
        return { model: null, model_error: { message: errorMessage(error), code: errorCode(error) } };
      });
    const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));
    warmed = loading.then(async (result) => {
      await nextTask();  // after init's reply
      return result.model ? warmUp(result) : result;
    });
    // In a task of its own (50-90 ms), after the predictions that waited for the warm-up:
    // nothing they run needs the wheel's files (the snapshot holds its imported modules).
    ready = warmed.then(async (result) => {
      await nextTask();
      if (wheelToUnpack) unpackWheel(pyodide, await wheelToUnpack());
      wheelToUnpack = null;
      return result;
    });
    ready.then(() => setTimeout(storeNewSnapshot, 0), () => {});
    warmed.catch(() => {});  // a failed start is reported by init's own reply
    ready.catch(() => {});
    return loading;
  },
};

// {model_json, shards: {name: Uint8Array}} from an export's PyProxy (destroyed).
function exportedFiles(exported) {
  try {
    const text = exported.get("model_json");
    const shardsPy = exported.get("shards");
    const shards = {};
    for (const name of shardsPy.keys()) {
      const data = shardsPy.get(name);
      shards[name] = data.toJs ? toJs(data) : new Uint8Array(data);
    }
    shardsPy.destroy();
    return { model_json: text, shards };
  } finally {
    exported.destroy();
  }
}

const models = modelMethods({
  ready: () => ready, warmed: () => warmed, python: () => pyodide, session: () => session,
  fetchModel, fetchOk, toJs, exportedFiles, post,
});
Object.assign(METHODS, models.methods, trainingMethods({
  ready: () => ready, python: () => pyodide, glContext: models.glContext,
  openFiles: models.openFiles, toJs, exportedFiles, post,
}));

startFromName();

self.onmessage = async (event) => {
  if (event.data.type === "preload") {
    if ("wasm" in event.data) takeCompiled(event.data.wasm);
    if ("snapshot" in event.data) takeServed(event.data.snapshot);
    return;
  }
  const { id, method, args } = event.data;
  try {
    const handler = METHODS[method];
    if (!handler) {
      throw codedError(`worker: unknown method ${method} (known: ${Object.keys(METHODS).join(", ")})`,
                       "argument");
    }
    const result = await handler(...(args || []));
    post({ id, result }, result?.[TRANSFER]);
  } catch (error) {
    post({ id, error: errorMessage(error), code: errorCode(error) });
  }
};
