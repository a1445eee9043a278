// The worker's methods for training a network from scratch (the page's Train panel):
// one webgl_backend.scratch.ScratchSession on the worker's GL context, so the
// drawing model and the training share the GPU and neither disturbs the other. worker.js
// adds them to its METHODS. While `scratch_train` awaits between steps the worker answers
// every other message (predict, scratch_pause, scratch_stop, ...).
//
// worker -> main while training: {type: "scratch", kind: "batch"|"epoch", ...} (the
// session's progress events, as they come).

import { TRANSFER } from "./worker_models.js";

// Python values to plain JS without destroying them (progress events are borrowed proxies).
function plain(value) {
  return value && typeof value.toJs === "function"
    ? value.toJs({ dict_converter: Object.fromEntries, create_pyproxies: false }) : value;
}

// shell: worker.js's {ready(), python(), session()} getters and its helpers
// {toJs, exportedFiles, loadFiles, warmUp, post}.
export function trainingMethods(shell) {
  const { toJs, exportedFiles, post } = shell;
  let scratch = null;      // PyProxy of ScratchSession
  let testImages = null;   // Uint8Array, n_test * 784: the mistakes' pixels come from here
  let hasData = false;

  async function scratchSession() {
    await shell.ready();
    if (!scratch) {
      const module = shell.python().pyimport("webgl_backend.scratch");
      const runtime = shell.session().runtime;
      const context = runtime.context;
      try {
        scratch = module.ScratchSession(context);
      } finally {
        context.destroy();
        runtime.destroy();
        module.destroy();
      }
    }
    return scratch;
  }

  return {
    async scratch_ladder() {
      return toJs((await scratchSession()).ladder());
    },
    async scratch_has_data() {
      return hasData;
    },
    // data: the four Uint8Arrays of static/mnist_data.js (their buffers transferred here);
    // Python takes each in one bulk copy.
    async scratch_data(data) {
      const session = await scratchSession();
      session.set_data(data.train_images, data.train_labels, data.n_train,
                       data.test_images, data.test_labels, data.n_test);
      testImages = data.test_images;
      hasData = true;
      return { n_train: data.n_train, n_test: data.n_test };
    },
    async scratch_create(name, seed, dropout) {
      // undefined reaches Python as None (null would be pyodide's jsnull).
      return toJs((await scratchSession()).create(name, seed ?? 0, dropout ?? undefined));
    },
    async scratch_train(options) {
      const session = await scratchSession();
      const onProgress = (event) => post({ type: "scratch", ...plain(event) });
      const optionsPy = shell.python().toPy(options || {});
      try {
        return toJs(await session.train(optionsPy, onProgress));
      } finally {
        optionsPy.destroy();
      }
    },
    async scratch_pause() { (await scratchSession()).pause(); return true; },
    async scratch_resume() { (await scratchSession()).resume(); return true; },
    async scratch_stop() { (await scratchSession()).stop(); return true; },
    async scratch_state() { return (await scratchSession()).state(); },
    // The test figures, each mistake with its 28x28 pixels (uint8) for the page to draw.
    async scratch_evaluate(n, mistakes) {
      const result = toJs((await scratchSession()).evaluate(n ?? undefined, mistakes ?? 16));
      const buffers = [];
      for (const mistake of result.mistakes) {
        mistake.pixels = testImages.slice(mistake.index * 784, (mistake.index + 1) * 784);
        buffers.push(mistake.pixels.buffer);
      }
      return Object.assign(result, { [TRANSFER]: buffers });
    },
    async scratch_export() {
      const files = exportedFiles((await scratchSession()).export());
      return Object.assign(files, { [TRANSFER]: Object.values(files.shards).map((s) => s.buffer) });
    },
    // The trained model becomes the drawing model, through the same load as a saved one.
    async scratch_use() {
      const files = exportedFiles((await scratchSession()).export());
      const info = shell.loadFiles({ text: files.model_json, shards: files.shards });
      return { ...info, warmup_ms: shell.warmUp() };
    },
  };
}
