// The worker's methods for the public module (shadernet.mjs): models by id, all on the
// worker's one GL context (webgl_backend/model_sessions.py). worker.js adds them to its
// METHODS; `init` with no default model starts the runtime they run on.

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

// shell: what worker.js has: {ready(), python(), session()} (getters: they change while it
// starts) and its helpers {fetchModel, toJs, exportedFiles, post}.
export function modelMethods(shell) {
  const { fetchModel, toJs, exportedFiles, post } = shell;
  let models = null;   // PyProxy of model_sessions.ModelSessions

  context.restoredHooks.push(() => models?.context_restored());

  async function modelSessions() {
    await shell.ready();
    if (!models) {
      const module = shell.python().pyimport("webgl_backend.model_sessions");
      const runtime = shell.session().runtime;
      const context = runtime.context;
      try {
        models = module.ModelSessions(context);
      } finally {
        context.destroy();
        runtime.destroy();
        module.destroy();
      }
    }
    return models;
  }

  const methods = {
    async model_open(modelJsonUrl) {
      const sessions = await modelSessions();
      const files = await fetchModel(modelJsonUrl);
      const shards = shell.python().toPy(files.shards, { depth: 1 });
      try {
        return toJs(sessions.open(files.text, shards));
      } finally {
        shards.destroy();
      }
    },
    async model_predict(modelId, images, n) {
      const result = toJs((await modelSessions()).predict(modelId, images, n));
      const probabilities = Float32Array.from(result.probabilities);
      return transferable({ ...result, probabilities }, [probabilities.buffer]);
    },
    // Progress goes to the page as {type: "fit", token, step, total, loss, ms}.
    async model_fit(modelId, images, labels, n, options, token) {
      const sessions = await modelSessions();
      const onProgress = (step, total, loss, ms) => {
        if (contextLost()) throw lostError();  // stops the training loop at this step
        post({ type: "fit", token, step, total, loss, ms });
      };
      const optionsPy = shell.python().toPy(options || {});
      try {
        return toJs(await sessions.fit(modelId, images, labels, n, onProgress, optionsPy));
      } finally {
        optionsPy.destroy();
      }
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
  const guardedMethods = Object.fromEntries(
    Object.entries(methods).map(([name, method]) => [name, guarded(method)]));
  return { ...guardedMethods, ...contextMethods };
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
