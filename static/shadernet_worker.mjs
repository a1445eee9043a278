// The public module's one worker per page (worker.js, next to this file): starting it
// (where Pyodide and the wheel are, the page's compiled wasm, the start-up model), the
// calls to it, promises matched to replies by id, and the errors its replies become: every
// rejection of shadernet.mjs is a ShadernetError (an Error) with a `code`, of the subclass
// that code belongs to.
//
// main -> worker: {id, method, args}, {type: "preload", wasm}
// worker -> main: {id, result} | {id, error, code}; without an id: {type: "progress"},
//                 {type: "warmup"}, {type: "fit" | "trainer", token, ...}, {type: "context"}

export class ShadernetError extends Error {
  constructor(message, code) {
    super(message);
    this.name = "ShadernetError";
    this.code = code;
  }
}
export class WebGLUnavailableError extends ShadernetError {}  // webgl2-unavailable, float-render-targets
export class ContextLostError extends ShadernetError {}       // context-lost
export class ModelFormatError extends ShadernetError {}       // model-format: the reader's message
export class FetchError extends ShadernetError {}             // fetch: a file could not be loaded
export class ArgumentError extends ShadernetError {}          // argument, shape, training

const ERROR_CLASSES = {
  "webgl2-unavailable": WebGLUnavailableError, "float-render-targets": WebGLUnavailableError,
  "context-lost": ContextLostError, "model-format": ModelFormatError, fetch: FetchError,
  argument: ArgumentError, shape: ArgumentError, training: ArgumentError,
};

// The worker's message of a Python exception starts with its class ("webgl_backend.errors.
// ModelFormatError: ..."): the code says that, the message keeps the words.
const PYTHON_CLASS_PREFIX = /^(?:\w+\.)*\w*(?:Error|Exception): /;

export function shadernetError(message, code) {
  const text = String(message).replace(PYTHON_CLASS_PREFIX, "");
  const ErrorClass = ERROR_CLASSES[code] || ShadernetError;
  const error = new ErrorClass(text, code);
  error.name = ErrorClass.name;
  return error;
}

// A module worker must be of the page's origin: from another one (this module imported
// from our server by someone's page), a blob: worker of the page's origin imports ours,
// which the server allows with CORS (`--cors-origin`).
function startWorker() {
  const url = new URL("./worker.js", import.meta.url);
  if (url.origin === location.origin) return new Worker(url, { type: "module" });
  const shim = new Blob([`import ${JSON.stringify(url.href)};\n`], { type: "text/javascript" });
  const blobUrl = URL.createObjectURL(shim);
  const worker = new Worker(blobUrl, { type: "module" });
  setTimeout(() => URL.revokeObjectURL(blobUrl), 60_000);  // once the worker has read it
  return worker;
}

// Calls refused at once while the context is lost (their draws would do nothing).
const NEEDS_CONTEXT = /^(model|trainer)_/;

export class RuntimeWorker {
  constructor(onProgress) {
    this.worker = startWorker();
    this.nextId = 1;
    this.nextToken = 1;
    this.pending = new Map();
    this.streams = new Map();    // token -> listener of a fit's or a training run's events
    this.onProgress = onProgress;
    this.lost = null;            // the message while the GL context is lost
    this.warmedUp = new Promise((resolve) => { this.warm = resolve; });
    this.worker.onmessage = (event) => this.receive(event.data);
    this.worker.onerror = (event) => {
      event.preventDefault();
      this.failAll(`the shadernet worker failed: ${event.message || "could not start it"}`);
    };
  }

  call(method, args, transfer = []) {
    if (this.lost && NEEDS_CONTEXT.test(method)) {
      return Promise.reject(shadernetError(this.lost, "context-lost"));
    }
    if (!this.worker) return Promise.reject(shadernetError("the shadernet runtime was shut down", "runtime"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { method, resolve, reject });
      this.worker.postMessage({ id, method, args }, transfer);
    });
  }

  // As call(), with `listener` getting the events the worker posts for it meanwhile.
  async stream(method, args, listener) {
    const token = this.nextToken++;
    if (listener) this.streams.set(token, listener);
    try {
      return await this.call(method, [...args, token]);
    } finally {
      this.streams.delete(token);
    }
  }

  receive(message) {
    if (message.id === undefined) {
      if (message.type === "progress") this.onProgress?.(message);
      if (message.type === "warmup") this.warm({ ms: message.ms, at: message.at });
      if (message.token !== undefined) this.streams.get(message.token)?.(message);
      if (message.type === "context") this.contextChanged(message);
      return;
    }
    const waiting = this.pending.get(message.id);
    this.pending.delete(message.id);
    if (!waiting) return;
    if ("error" in message) waiting.reject(shadernetError(message.error, message.code));
    else waiting.resolve(message.result);
  }

  failAll(text, code = "runtime") {
    for (const { reject } of this.pending.values()) reject(shadernetError(text, code));
    this.pending.clear();
  }

  terminate() {
    this.worker?.terminate();
    this.worker = null;
    this.failAll("the shadernet runtime was shut down");
  }

  // Lost: every pending call that needs the context rejects now, and such calls until it
  // is restored; the page hears of it as a "shadernet-context" event.
  contextChanged({ state, message }) {
    this.lost = state === "lost" ? message : null;
    if (this.lost) {
      for (const [id, { method, reject }] of this.pending) {
        if (NEEDS_CONTEXT.test(method)) {
          this.pending.delete(id);
          reject(shadernetError(message, "context-lost"));
        }
      }
    }
    dispatchEvent(new CustomEvent("shadernet-context", { detail: { state, message } }));
  }
}

// Where Pyodide, its stdlib and the wheel are, given in the options (else null).
function givenUrls(options) {
  if (!options.pyodideUrl || !options.wheelUrl) return null;
  return { pyodideUrl: String(options.pyodideUrl), wheelUrl: String(options.wheelUrl),
           stdlibUrl: options.stdlibUrl && String(options.stdlibUrl) };
}

// Where they are on the server of this module.
async function askedUrls() {
  const url = new URL("/api/runtime", import.meta.url);
  const at = (path) => new URL(path, url).href;  // the server's paths, not the page's
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
  const urls = await response.json();
  return { pyodideUrl: at(urls.pyodide_base_url), wheelUrl: at(urls.runtime_wheel_url),
           stdlibUrl: urls.pyodide_stdlib_url && at(urls.pyodide_stdlib_url) };
}

// The worker's init config from startRuntime's options (see shadernet.mjs).
function initConfig(urls, options) {
  const base = new URL(urls.pyodideUrl.endsWith("/") ? urls.pyodideUrl : urls.pyodideUrl + "/",
                       location.href).href;
  return {
    pyodide_base_url: base, pyodide_module_url: base + "pyodide.mjs",
    pyodide_stdlib_url: urls.stdlibUrl ? new URL(urls.stdlibUrl, location.href).href
      : base + "python_stdlib.zip",
    runtime_wheel_url: new URL(urls.wheelUrl, location.href).href,
    startup_key: options.snapshotKey ?? null,
    default_model_url: options.model ? new URL(options.model, location.href).href : null,
    page_preload: options.wasm !== undefined && options.wasm !== null,
  };
}

// Starts the worker and its runtime; resolves to the RuntimeWorker once init has answered,
// with `startup` = init's answer and `startupModelUrl`. created(worker): at its creation.
export async function bootWorker(options, created) {
  if (typeof Worker === "undefined" || typeof OffscreenCanvas === "undefined") {
    throw shadernetError("this browser has no module workers with OffscreenCanvas, "
                         + "which shadernet runs WebGL2 in", "webgl2-unavailable");
  }
  // With the URLs given, the worker starts in this very call (no await before it).
  const config = initConfig(givenUrls(options) || await askedUrls(), options);
  const worker = new RuntimeWorker(options.onProgress);
  created(worker);
  if (config.page_preload) {
    // The page compiles Pyodide's wasm itself (WebAssembly.compileStreaming): no second compile.
    Promise.resolve(options.wasm).then(
      (module) => worker.worker?.postMessage({ type: "preload", wasm: module || null }),
      () => worker.worker?.postMessage({ type: "preload", wasm: null }));
  }
  try {
    worker.startup = await worker.call("init", [config]);
  } catch (error) {
    worker.terminate();
    throw error;
  }
  worker.startupModelUrl = config.default_model_url;
  if (!worker.startup.model) worker.warm(null);
  return worker;
}
