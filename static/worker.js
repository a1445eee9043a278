// The page's module worker: Pyodide + the shadernet runtime on an OffscreenCanvas WebGL2
// context. The model work is Python (webgl_backend/worker_api.py); this file only loads
// things and relays messages.
//
// main -> worker: {id, method, args}           worker -> main: {id, result} | {id, error}
// worker -> main (no id): {type: "progress", stage, message} while starting,
//                         {type: "warmup", ms, at} once the shaders are compiled,
//                         {type: "train", step, total, loss, ms} while fine-tuning.

let session = null;        // PyProxy of worker_api.PageSession
let pyodide = null;
let ready = null;          // resolves once Pyodide, the runtime and the first model are loaded
const replayCache = new Map();

const post = (message, transfer) => self.postMessage(message, transfer || []);
const progress = (stage, message) => post({ type: "progress", stage, message });

async function fetchOk(url, what) {
  const response = await fetch(url);
  if (!response.ok) {
    let detail = "";
    try { detail = (await response.json()).detail || ""; } catch (_) { /* not JSON */ }
    throw new Error(`${what}: HTTP ${response.status} for ${url}${detail ? ": " + detail : ""}`);
  }
  return response;
}

// model.json and every shard it lists, fetched in parallel: {text, shards: {path: Uint8Array}}.
async function fetchModel(modelJsonUrl) {
  const text = await (await fetchOk(modelJsonUrl, "model.json")).text();
  const base = modelJsonUrl.slice(0, modelJsonUrl.lastIndexOf("/") + 1);
  let manifest;
  try { manifest = JSON.parse(text).weightsManifest || []; } catch (error) {
    throw new Error(`model.json at ${modelJsonUrl} is not JSON: ${error.message}`);
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

// A Python exception's own line ("ValueError: ...") rather than the whole traceback.
function errorMessage(error) {
  const text = String((error && error.message) || error);
  if (error && error.type) {
    const lines = text.trim().split("\n");
    const start = lines.findIndex((line) => line.startsWith(error.type));
    return start >= 0 ? lines.slice(start).join("\n") : lines[lines.length - 1];
  }
  return text;
}

// Loads Pyodide, the runtime and the first model; resolves once the model can predict.
// The shader warm-up is left to warmUp(), which runs right after the page is told "Ready".
async function start(config) {
  const t0 = performance.now();
  const seconds = () => ((performance.now() - t0) / 1000).toFixed(1);
  const timings = {};  // stage -> ms since the worker started, for the 'Under the hood' panel
  const mark = (stage) => { timings[stage] = Math.round(performance.now() - t0); };
  // started_at: when this began on the shared wall clock, so the page can place the
  // stages on its own navigation timeline (performance.timeOrigin differs per thread).
  const startedAt = performance.timeOrigin + t0;
  progress("pyodide", "Loading Python (Pyodide)…");
  // Everything starts at once, Pyodide first: its module, then the runtime wheel and the
  // model download while Pyodide compiles its wasm and boots Python.
  const pyodideModule = import(config.pyodide_module_url);
  const wheelLoading = fetchOk(config.runtime_wheel_url, "runtime wheel").then((r) => r.arrayBuffer());
  const modelLoading = config.default_model_url ? fetchModel(config.default_model_url) : null;
  wheelLoading.catch(() => {});  // reported below, when awaited
  modelLoading?.catch(() => {});
  const { loadPyodide } = await pyodideModule;
  pyodide = await loadPyodide({ indexURL: config.pyodide_base_url });
  mark("pyodide");
  progress("runtime", `Python ready (${seconds()} s); installing the shadernet runtime…`);
  // site-packages from sys.path (sys is loaded already; sysconfig would be one more import).
  const purelib = pyodide.runPython(
    "import sys; next(p for p in sys.path if p.endswith('site-packages'))");
  pyodide.unpackArchive(await wheelLoading, "wheel", { extractDir: purelib });
  mark("wheel");
  const api = pyodide.pyimport("webgl_backend.worker_api");
  const context = pyodide.pyimport("webgl_backend.context");
  mark("import");
  let gl;
  try {
    gl = context.create_webgl2_context();
    session = api.PageSession(gl);
  } finally {
    gl?.destroy?.();
    context.destroy();
    api.destroy();
  }
  mark("runtime");
  if (!modelLoading) {
    return { model: null, timings, started_at: startedAt };
  }
  progress("model", `Runtime ready (${seconds()} s); loading the model…`);
  const info = await loadFiles(await modelLoading);
  mark("model");
  return { model: info, timings, started_at: startedAt };
}

// Compile and draw every forward program once (SwiftShader compiles at a program's first
// draw: 7-26 ms each). Posted to the page as {type: "warmup", ms, at}.
function warmUp(result) {
  const warm = toJs(session.warm_up());
  post({ type: "warmup", ms: warm.ms, at: performance.timeOrigin + performance.now() });
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

async function loadReplay(url, count) {
  const key = `${url}?count=${count}`;
  if (!replayCache.has(key)) {
    const pending = (async () => {
      const body = await (await fetchOk(`${url}?count=${count}`, "replay images")).arrayBuffer();
      const n = (body.byteLength / (784 * 4 + 1)) | 0;
      return { n, images: new Float32Array(body, 0, n * 784),
               labels: Int32Array.from(new Uint8Array(body, n * 784 * 4, n)) };
    })();
    replayCache.set(key, pending);
    pending.catch(() => replayCache.delete(key));
  }
  return replayCache.get(key);
}

const METHODS = {
  // Replies as soon as the model can predict; the warm-up runs in the next task, after the
  // reply is posted, and every later call waits for it (`ready`), so predictions are the
  // same, only the first one may wait for the compiles.
  init(config) {
    const loading = start(config);
    ready = loading.then((result) => (result.model
      ? new Promise((resolve, reject) => setTimeout(() => {
        try { resolve(warmUp(result)); } catch (error) { reject(error); }
      }, 0))
      : result));
    ready.catch(() => {});  // a failed start is reported by init's own reply
    return loading;
  },
  async load(modelJsonUrl) {
    await ready;
    const info = loadFiles(await fetchModel(modelJsonUrl));
    return { ...info, warmup_ms: toJs(session.warm_up()).ms };
  },
  async predict(images, n) {
    await ready;
    return toJs(session.predict(images, n));
  },
  async sources() {
    await ready;
    return toJs(session.sources());
  },
  async counters() {
    await ready;
    return toJs(session.counters());
  },
  async fit(images, labels, n, replay, options) {
    await ready;
    if (!session.can_train()) {
      throw new Error("Training is not available in this runtime build (no fine-tuning API yet).");
    }
    const data = replay && replay.count > 0 ? await loadReplay(replay.url, replay.count) : null;
    const onProgress = (step, total, loss, ms, draws, glCalls) =>
      post({ type: "train", step, total, loss, ms, draws, gl_calls: glCalls });
    const optionsPy = pyodide.toPy(options || {});
    try {
      return toJs(await session.fit(images, labels, n, data?.images, data?.labels,
                                    data ? data.n : 0, onProgress, optionsPy));
    } finally {
      optionsPy.destroy();
    }
  },
  async reset() {
    await ready;
    session.reset();
    return true;
  },
  async export() {
    await ready;
    const exported = session.export();
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
  },
};

self.onmessage = async (event) => {
  const { id, method, args } = event.data;
  try {
    const handler = METHODS[method];
    if (!handler) throw new Error(`worker: unknown method ${method}`);
    post({ id, result: await handler(...(args || [])) });
  } catch (error) {
    post({ id, error: errorMessage(error) });
  }
};
