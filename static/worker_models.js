// The worker's methods for the public module's models (shadernet.mjs: Model): models by id,
// all on the worker's one GL context (webgl_backend/model_sessions.py). worker.js adds them
// to its METHODS; `init` starts the runtime they run on (and may load the first model).

// A reply carrying `[TRANSFER]: buffers` moves those buffers to the page instead of copying.
export const TRANSFER = Symbol("transfer");

function transferable(result, buffers) {
  return Object.assign(result, { [TRANSFER]: buffers });
}

// The worker's GL context, lost between 'webglcontextlost' and 'webglcontextrestored'.
// Every model method rejects with code "context-lost" while it is lost, and so does one
// that was running when it was lost (its draws did nothing, its answer would be garbage).
const context = { gl: null, lose: null, lost: false, restoredHooks: [], waiting: [] };
export const CONTEXT_LOST_MESSAGE = "The WebGL context was lost (the GPU was reset or the "
  + "browser reclaimed it): every model's textures and programs are gone. Calls are refused "
  + "until the browser restores the context; then load the models again.";

function contextLost() {
  return context.lost || Boolean(context.gl?.isContextLost());
}

function lostError() {
  return Object.assign(new Error(CONTEXT_LOST_MESSAGE), { code: "context-lost" });
}

// gl: the worker's WebGL2 context (on an OffscreenCanvas); post: to the page. Tells the
// page {type: "context", state: "lost" | "restored", message}.
export function watchContext(gl, post) {
  context.gl = gl;
  context.lose = gl.getExtension("WEBGL_lose_context");  // null once lost: asked now
  gl.canvas.addEventListener("webglcontextlost", (event) => {
    event.preventDefault();  // lets the browser restore it
    context.lost = true;
    post({ type: "context", state: "lost", message: CONTEXT_LOST_MESSAGE });
  });
  gl.canvas.addEventListener("webglcontextrestored", () => {
    context.lost = false;
    for (const hook of context.restoredHooks) hook();
    post({ type: "context", state: "restored",
           message: "The WebGL context was restored; models loaded before must be loaded again." });
    for (const resolve of context.waiting.splice(0)) resolve();
  });
}

// A model method that rejects with "context-lost" before, during or after a loss.
function guarded(method) {
  return async (...args) => {
    if (contextLost()) throw lostError();
    let result;
    try {
      result = await method(...args);
    } catch (error) {
      throw contextLost() ? lostError() : error;
    }
    if (contextLost()) throw lostError();
    return result;
  };
}

// Replay images from a server in the format of our GET /api/replay?count=N (little-endian:
// N*784 float32 pixels, then N uint8 labels), fetched once per URL and count.
const replayCache = new Map();

function replayFrom(fetchOk, url, count) {
  const address = `${url}${url.includes("?") ? "&" : "?"}count=${count}`;
  if (!replayCache.has(address)) {
    const pending = (async () => {
      const body = await (await fetchOk(address, "replay images")).arrayBuffer();
      const n = (body.byteLength / (784 * 4 + 1)) | 0;
      return { n, images: new Float32Array(body, 0, n * 784),
               labels: Int32Array.from(new Uint8Array(body, n * 784 * 4, n)) };
    })();
    replayCache.set(address, pending);
    pending.catch(() => replayCache.delete(address));
  }
  return replayCache.get(address);
}

// fit's replay: none, {url, count} (fetched here) or {images, labels, n} (given).
async function replaySet(fetchOk, replay) {
  if (!replay) return null;
  if (replay.url !== undefined) {
    const count = Number(replay.count ?? 300);
    return count > 0 ? replayFrom(fetchOk, String(replay.url), count) : null;
  }
  if (replay.images === undefined || replay.labels === undefined || replay.n === undefined) {
    throw Object.assign(new Error("fit: options.replay must be {url, count} or {images, labels, n}, "
                                  + `got keys ${JSON.stringify(Object.keys(replay))}`), { code: "argument" });
  }
  return { images: Float32Array.from(replay.images), labels: Int32Array.from(replay.labels),
           n: Number(replay.n) };
}

// Every layer part of a layer_maps answer comes as float32 bytes: handed on as a Float32Array.
function layerArrays(result) {
  for (const part of [result.input, result.kernels, ...result.layers]) {
    if (part) part.values = new Float32Array(part.values.slice().buffer);
  }
  const buffers = [result.input, result.kernels, ...result.layers].filter(Boolean)
    .map((part) => part.values.buffer);
  result.probabilities = Float32Array.from(result.probabilities);
  return transferable(result, [...buffers, result.probabilities.buffer]);
}

// shell: what worker.js has: {ready(), warmed(), python(), session()} (getters: they change
// while it starts; warmed() resolves before ready(): predictions wait for it only) and its
// helpers {fetchModel, fetchOk, toJs, exportedFiles, post}.
// Returns {methods (the protocol's model_* and context_*), adopt(session) (the model the
// start-up loaded: its id), openFiles(text, shards) (a model from files made in the worker),
// glContext() (the shared GLContext, a PyProxy the caller must not destroy)}.
export function modelMethods(shell) {
  const { fetchModel, fetchOk, toJs, exportedFiles, post } = shell;
  let models = null;   // PyProxy of model_sessions.ModelSessions

  context.restoredHooks.push(() => models?.context_restored());

  // Created by the first model (start-up's, or the first model_open), on its context.
  function sessionsNow() {
    if (!models) {
      const module = shell.python().pyimport("webgl_backend.model_sessions");
      const runtime = shell.session().runtime;
      const glContext = runtime.context;
      try {
        models = module.ModelSessions(glContext);
      } finally {
        glContext.destroy();
        runtime.destroy();
        module.destroy();
      }
    }
    return models;
  }

  async function modelSessions() {
    await shell.ready();
    return sessionsNow();
  }

  // The start-up's warm-up is all a prediction needs, not the wheel's files after it.
  async function predictingSessions() {
    await shell.warmed();
    return sessionsNow();
  }

  function openFiles(text, shards) {
    const shardsPy = shell.python().toPy(shards, { depth: 1 });
    try {
      return toJs(sessionsNow().open(text, shardsPy));
    } finally {
      shardsPy.destroy();
    }
  }

  const methods = {
    async model_open(modelJsonUrl) {
      await modelSessions();
      const files = await fetchModel(modelJsonUrl);
      return openFiles(files.text, files.shards);
    },
    async model_predict(modelId, images, n) {
      const result = toJs((await predictingSessions()).predict(modelId, images, n));
      const probabilities = Float32Array.from(result.probabilities);
      return transferable({ ...result, probabilities }, [probabilities.buffer]);
    },
    async model_layer_maps(modelId, image) {
      return layerArrays(toJs((await predictingSessions()).layer_maps(modelId, image)));
    },
    // Progress goes to the page as {type: "fit", token, step, total, loss, ms, draws, gl_calls}.
    async model_fit(modelId, images, labels, n, options, replay, token) {
      const sessions = await modelSessions();
      const extra = await replaySet(fetchOk, replay);
      const onProgress = (step, total, loss, ms, draws, glCalls) => {
        if (contextLost()) throw lostError();  // stops the training loop at this step
        post({ type: "fit", token, step, total, loss, ms, draws, gl_calls: glCalls });
      };
      const optionsPy = shell.python().toPy(options || {});
      try {
        return toJs(await sessions.fit(modelId, images, labels, n, onProgress, optionsPy,
                                       extra?.images, extra?.labels, extra ? extra.n : 0));
      } finally {
        optionsPy.destroy();
      }
    },
    async model_reset(modelId) {
      (await modelSessions()).reset(modelId);
      return true;
    },
    async model_info(modelId) {
      return toJs((await modelSessions()).info(modelId));
    },
    async model_export(modelId) {
      const files = exportedFiles((await modelSessions()).export(modelId));
      return transferable(files, Object.values(files.shards).map((shard) => shard.buffer));
    },
    async model_close(modelId) {
      (await modelSessions()).close(modelId);
      return true;
    },
  };
  return {
    methods: { ...guardAll(methods), ...contextMethods },
    adopt: (session) => sessionsNow().adopt(session),
    openFiles,
    glContext: () => sessionsNow().context,
  };
}

// Each method rejecting with "context-lost" before, during or after a loss.
export function guardAll(methods) {
  return Object.fromEntries(Object.entries(methods).map(([name, method]) => [name, guarded(method)]));
}

// Stops a long run (fit, a trainer's train) at its next step once the context is lost.
export function throwIfLost() {
  if (contextLost()) throw lostError();
}

// What WEBGL_lose_context does, for a page that tests its own handling of a lost context
// (shadernet.mjs: forceContextLoss / forceContextRestore). Restore resolves once the
// browser has restored the context.
const contextMethods = {
  async context_lose() {
    if (!context.lose) throw new Error("this browser has no WEBGL_lose_context extension");
    if (!contextLost()) context.lose.loseContext();
    return true;
  },
  async context_restore() {
    if (!context.lose) throw new Error("this browser has no WEBGL_lose_context extension");
    if (!context.lost && !contextLost()) return true;
    const restored = new Promise((resolve) => context.waiting.push(resolve));
    // The browser allows restoring only once the 'lost' event was dispatched.
    while (!context.lost) await new Promise((resolve) => setTimeout(resolve, 5));
    context.lose.restoreContext();
    await restored;
    return true;
  },
};
