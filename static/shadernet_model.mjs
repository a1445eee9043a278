// A model loaded by shadernet.mjs's loadModel: its GPU copy lives in the worker, by id.

import { shadernetError } from "./shadernet.mjs";

// {modelJson: File, weights: [File]} from the worker's {model_json, shards}.
export function exportedFiles(files) {
  return {
    modelJson: new File([files.model_json], "model.json", { type: "application/json" }),
    weights: Object.entries(files.shards).map(([name, bytes]) =>
      new File([bytes], name, { type: "application/octet-stream" })),
  };
}

// fit's options in the worker's words (TrainOptions: learning_rate, batch_size, ...).
function fitSettings(options) {
  const { onProgress, lr, batchSize, replay, ...rest } = options;
  const settings = { ...rest };
  if (lr !== undefined) settings.learning_rate = lr;
  if (batchSize !== undefined) settings.batch_size = batchSize;
  return settings;
}

export class Model {
  constructor(worker, loaded) {
    this.worker = worker;
    this.id = loaded.id;
    this.inputShape = loaded.input_shape;
    this.outputShape = loaded.output_shape;
    this.parameters = loaded.parameters;
    this.layers = loaded.layers;            // [{name, class_name, output_shape}]
    this.canTrain = loaded.training;
    this.lastRun = null;                    // {ms, forward: {draws, gl_calls, programs, compiles}}
    this.disposed = false;
  }

  #call(method, args = [], transfer = []) {
    if (this.disposed) {
      return Promise.reject(shadernetError(`model ${this.id} was disposed`, "argument"));
    }
    return this.worker.call(method, [this.id, ...args], transfer);
  }

  #ran(result) {
    this.lastRun = { ms: result.ms, forward: result.forward };
    return result;
  }

  /** n images (Float32Array of n * the input size) -> Float32Array of n * the output size. */
  async predict(images, n) {
    const copy = Float32Array.from(images);  // moved to the worker, the caller's stays
    const result = await this.#call("model_predict", [copy, n], [copy.buffer]);
    return this.#ran(result).probabilities;
  }

  /**
   * One image through the network, every layer's output read back with one readPixels:
   * {probabilities, ms, forward, input, kernels (the first conv's, or null),
   *  layers: [{name, class_name, shape, values: Float32Array, ms, ...}]}.
   */
  async layerMaps(image) {
    const copy = Float32Array.from(image);
    return this.#ran(await this.#call("model_layer_maps", [copy], [copy.buffer]));
  }

  /**
   * Fine-tune on n images with integer labels. options: {optimizer ("adam", "sgd",
   * "momentum"), lr, epochs, batchSize, seed, copies (jittered copies of each image, 0),
   * replay ({url, count}: images of a GET url?count=N in /api/replay's format, or {images,
   * labels, n}: mixed into the training set), onProgress({step, total, loss, ms, draws,
   * gl_calls})}. Resolves to {losses, steps, samples, ms, options}.
   */
  async fit(images, labels, n, options = {}) {
    if (this.disposed) throw shadernetError(`model ${this.id} was disposed`, "argument");
    return this.worker.stream("model_fit", [this.id, Float32Array.from(images), Int32Array.from(labels),
                                            n, fitSettings(options), options.replay ?? null],
                              options.onProgress);
  }

  /** Weights (and optimizer state) back to the values the model was loaded with. */
  async reset() {
    await this.#call("model_reset");
  }

  /**
   * The TF.js layers files of the current weights, as Files (Blobs with names):
   * {modelJson: File "model.json", weights: [File per shard]}, so that
   * `tf.loadLayersModel(tf.io.browserFiles([modelJson, ...weights]))` loads them.
   */
  async export() {
    return exportedFiles(await this.#call("model_export"));
  }

  /** {layers, input_shape, output_shape, context (live GL objects), forward, step, sources}. */
  info() {
    return this.#call("model_info");
  }

  /** Free the model's GPU memory; later calls reject. */
  async dispose() {
    if (this.disposed) return;
    await this.#call("model_close");
    this.disposed = true;
  }
}
