// The worker's methods for the public module (shadernet.mjs): models by id, all on the
// worker's one GL context (webgl_backend/model_sessions.py). worker.js adds them to its
// METHODS; `init` with no default model starts the runtime they run on.

// A reply carrying `[TRANSFER]: buffers` moves those buffers to the page instead of copying.
export const TRANSFER = Symbol("transfer");

function transferable(result, buffers) {
  return Object.assign(result, { [TRANSFER]: buffers });
}

// shell: what worker.js has: {ready(), python(), session()} (getters: they change while it
// starts) and its helpers {fetchModel, toJs, exportedFiles, post}.
export function modelMethods(shell) {
  const { fetchModel, toJs, exportedFiles, post } = shell;
  let models = null;   // PyProxy of model_sessions.ModelSessions

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

  return {
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
      const onProgress = (step, total, loss, ms) => post({ type: "fit", token, step, total, loss, ms });
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
}
