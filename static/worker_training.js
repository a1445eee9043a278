// The worker's methods for the public module's Trainer (shadernet.mjs: createTrainer):
// training a network of the ladder from scratch, each trainer a
// webgl_backend.scratch.ScratchSession on the worker's one GL context, so the models and
// the training share the GPU and neither disturbs the other. worker.js adds them to its
// METHODS. While `trainer_train` awaits between steps the worker answers every other
// message (model_predict, trainer_pause, trainer_stop, ...).
//
// worker -> main while training: {type: "trainer", token, kind: "batch"|"epoch", ...} (the
// session's progress events, as they come).

import { TRANSFER, guardAll, throwIfLost } from "./worker_models.js";

// Python values to plain JS without destroying them (progress events are borrowed proxies).
function plain(value) {
  return value && typeof value.toJs === "function"
    ? value.toJs({ dict_converter: Object.fromEntries, create_pyproxies: false }) : value;
}

function argumentError(message) {
  return Object.assign(new Error(message), { code: "argument" });
}

// shell: worker.js's {ready(), python()} getters, its helpers {toJs, exportedFiles, post},
// and the model methods' {glContext() (a PyProxy, destroyed here), openFiles(text, shards)}.
export function trainingMethods(shell) {
  const { toJs, exportedFiles, post } = shell;
  // id -> {session: PyProxy of ScratchSession, testImages: Uint8Array | null}
  const trainers = new Map();
  let nextId = 1;

  function trainer(id) {
    const found = trainers.get(Number(id));
    if (!found) {
      throw argumentError(`trainer ${id} is not open (closed, or never created); open: `
                          + `${[...trainers.keys()].join(", ") || "none"}`);
    }
    return found;
  }

  const methods = {
    async trainer_open() {
      await shell.ready();
      const module = shell.python().pyimport("webgl_backend.scratch");
      const glContext = shell.glContext();
      try {
        const id = nextId++;
        trainers.set(id, { session: module.ScratchSession(glContext), testImages: null });
        return { id, ladder: toJs(trainers.get(id).session.ladder()) };
      } finally {
        glContext.destroy();
        module.destroy();
      }
    },
    // data: four Uint8Arrays (their buffers transferred here) and the counts; Python takes
    // each in one bulk copy.
    async trainer_set_data(id, data) {
      const entry = trainer(id);
      entry.session.set_data(data.train_images, data.train_labels, data.n_train,
                             data.test_images, data.test_labels, data.n_test);
      entry.testImages = data.test_images;
      return { n_train: data.n_train, n_test: data.n_test };
    },
    async trainer_create(id, name, seed, dropout) {
      // undefined reaches Python as None (null would be pyodide's jsnull).
      return toJs(trainer(id).session.create(name, seed ?? 0, dropout ?? undefined));
    },
    // Progress goes to the page as {type: "trainer", token, kind, ...}.
    async trainer_train(id, options, token) {
      const { session } = trainer(id);
      const onProgress = (event) => {
        throwIfLost();  // stops the run at this step
        post({ type: "trainer", token, ...plain(event) });
      };
      const optionsPy = shell.python().toPy(options || {});
      try {
        return toJs(await session.train(optionsPy, onProgress));
      } finally {
        optionsPy.destroy();
      }
    },
    async trainer_pause(id) { trainer(id).session.pause(); return true; },
    async trainer_resume(id) { trainer(id).session.resume(); return true; },
    async trainer_stop(id) { trainer(id).session.stop(); return true; },
    async trainer_state(id) { return toJs(trainer(id).session.state()); },
    // The test figures, each mistake with its 28x28 pixels (uint8) for the page to draw.
    async trainer_evaluate(id, n, mistakes) {
      const entry = trainer(id);
      const result = toJs(entry.session.evaluate(n ?? undefined, mistakes ?? 16));
      const buffers = [];
      for (const mistake of result.mistakes) {
        mistake.pixels = entry.testImages.slice(mistake.index * 784, (mistake.index + 1) * 784);
        buffers.push(mistake.pixels.buffer);
      }
      return Object.assign(result, { [TRANSFER]: buffers });
    },
    async trainer_export(id) {
      const files = exportedFiles(trainer(id).session.export());
      return Object.assign(files, { [TRANSFER]: Object.values(files.shards).map((s) => s.buffer) });
    },
    // The trained network as a model of its own (the public Model), through the normal load.
    async trainer_model(id) {
      const files = exportedFiles(trainer(id).session.export());
      return shell.openFiles(files.model_json, files.shards);
    },
    async trainer_close(id) {
      const entry = trainer(id);
      entry.session.dispose();  // refused while a run is on: the trainer stays
      trainers.delete(Number(id));
      entry.session.destroy();
      return true;
    },
  };
  return guardAll(methods);
}
