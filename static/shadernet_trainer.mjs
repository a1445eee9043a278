// A network trained from scratch in the worker (shadernet.mjs's createTrainer): a rung of
// the ladder (softmax ... the 6/12/24 CNN), MNIST-shaped data, a run that can be paused,
// resumed and stopped, its test figures, its files, and a Model made of it.

import { shadernetError } from "./shadernet.mjs";
import { Model, exportedFiles } from "./shadernet_model.mjs";

const DATA_KEYS = ["trainImages", "trainLabels", "testImages", "testLabels"];

export class Trainer {
  constructor(worker, opened) {
    this.worker = worker;
    this.id = opened.id;
    this.ladder = opened.ladder;   // [{name, title, description, layers, parameters, defaults}]
    this.hasData = false;
    this.closed = false;
  }

  #call(method, args = [], transfer = []) {
    if (this.closed) return Promise.reject(shadernetError(`trainer ${this.id} was closed`, "argument"));
    return this.worker.call(method, [this.id, ...args], transfer);
  }

  /**
   * The images to train and test on, MNIST's layout: {trainImages, testImages} (Uint8Array,
   * 784 pixels 0..255 per 28x28 image), {trainLabels, testLabels} (Uint8Array, digits) and
   * {nTrain, nTest}. With {transfer: true} their buffers move to the worker (nothing is
   * copied; the arrays here become empty). Resolves to {n_train, n_test}.
   */
  async setData(data, { transfer = false } = {}) {
    const missing = DATA_KEYS.filter((key) => !(data?.[key] instanceof Uint8Array));
    if (missing.length) {
      throw shadernetError(`setData: ${missing.join(", ")} must be Uint8Arrays`, "argument");
    }
    const arrays = Object.fromEntries(DATA_KEYS.map((key) =>
      [key, transfer ? data[key] : data[key].slice()]));
    const message = {
      train_images: arrays.trainImages, train_labels: arrays.trainLabels, n_train: data.nTrain,
      test_images: arrays.testImages, test_labels: arrays.testLabels, n_test: data.nTest,
    };
    const result = await this.#call("trainer_set_data", [message],
                                    DATA_KEYS.map((key) => arrays[key].buffer));
    this.hasData = true;
    return result;
  }

  /** Fresh seeded Glorot weights for rung `name`; resolves to its load info. */
  create(name, { seed = 0, dropout = null } = {}) {
    return this.#call("trainer_create", [name, seed, dropout]);
  }

  /**
   * Train (options as ScratchSession.train's: optimizer, learning_rate, decay, lr_floor,
   * batch_size, dropout, epochs, train_images, validation_images, seed; unknown keys are
   * refused), with onProgress getting {kind: "batch", step, steps, loss, accuracy, ...}
   * after each step and {kind: "epoch", val_loss, val_accuracy, ...} after each epoch.
   * Resolves to {steps_done, stopped, best_epoch, best_val_accuracy, ms, ...}.
   */
  train(options = {}, { onProgress } = {}) {
    if (this.closed) return Promise.reject(shadernetError(`trainer ${this.id} was closed`, "argument"));
    return this.worker.stream("trainer_train", [this.id, options], onProgress);
  }

  /** Hold the run between two steps (other calls go on meanwhile); resume() goes on. */
  pause() { return this.#call("trainer_pause"); }
  resume() { return this.#call("trainer_resume"); }
  /** End after the current step, keeping the best weights so far. */
  stop() { return this.#call("trainer_stop"); }
  /** "idle", "training" or "paused". */
  state() { return this.#call("trainer_state"); }

  /**
   * Test figures on the first n test images (all by default): {accuracy, loss, images,
   * confusion (10x10, rows the true digit), mistakes: the most confident ones, each
   * {index, label, guess, confidence, pixels: Uint8Array(784)}}.
   */
  evaluate({ n = null, mistakes = 16 } = {}) {
    return this.#call("trainer_evaluate", [n, mistakes]);
  }

  /** The trained network's TF.js layers files, as Model.export's. */
  async export() {
    return exportedFiles(await this.#call("trainer_export"));
  }

  /** The trained network as a Model of its own (predict, fit, export, ...). */
  async toModel() {
    return new Model(this.worker, await this.#call("trainer_model"));
  }

  /** Free the trainer's GPU memory (its data and network); later calls reject. */
  async close() {
    if (this.closed) return;
    await this.#call("trainer_close");
    this.closed = true;
  }
}
