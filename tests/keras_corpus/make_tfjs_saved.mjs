// Regenerate tests/keras_corpus/tfjs_saved/: models built and saved by TF.js 4.22 itself.
//
// Run from the repository root (never in CI): node tests/keras_corpus/make_tfjs_saved.mjs
//
// `model.save()` hands its artifacts to an IO handler; the files are written here exactly as
// tf.io.browserDownloads() lays them out (model.json whose manifest points at
// ./model.weights.bin, one weights file), since Node has no download anchor. Each folder also
// gets inputs.bin + expected.json with the probabilities TF.js (cpu backend) predicted.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const tf = require("@tensorflow/tfjs");
const HERE = join(dirname(fileURLToPath(import.meta.url)), "tfjs_saved");
const SHAPE = [10, 10, 1];
const INPUTS = 3;

// A seeded generator, so a rerun writes the same files.
function uniforms(count, seed) {
  let state = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  });
}

function sequentialBatchnorm() {
  const model = tf.sequential({ name: "tfjs_sequential" });
  model.add(tf.layers.conv2d({ inputShape: SHAPE, filters: 4, kernelSize: 3, padding: "same",
                               useBias: false }));
  model.add(tf.layers.batchNormalization({ epsilon: 0.002 }));
  model.add(tf.layers.reLU({ maxValue: 1.2 }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.globalAveragePooling2d({}));
  model.add(tf.layers.dense({ units: 10, activation: "softmax" }));
  model.compile({ optimizer: "adam", loss: "categoricalCrossentropy", metrics: ["accuracy"] });
  return model;
}

function functionalChain() {
  const input = tf.input({ shape: SHAPE, name: "image" });
  let x = tf.layers.zeroPadding2d({ padding: [[1, 0], [2, 1]] }).apply(input);
  x = tf.layers.conv2d({ filters: 5, kernelSize: 3, strides: 2 }).apply(x);
  x = tf.layers.elu({}).apply(x);
  x = tf.layers.globalMaxPooling2d({}).apply(x);
  x = tf.layers.dense({ units: 8 }).apply(x);
  x = tf.layers.batchNormalization({}).apply(x);
  x = tf.layers.dense({ units: 10 }).apply(x);
  const output = tf.layers.softmax({}).apply(x);
  return tf.model({ inputs: input, outputs: output, name: "tfjs_functional" });
}

// Moving statistics and gamma/beta away from (0, 1, 1, 0), so they matter.
function randomiseBatchnorm(model, seed) {
  for (const layer of model.layers) {
    if (layer.getClassName() !== "BatchNormalization") continue;
    const values = layer.getWeights().map((w, i) => {
      const u = uniforms(w.size, seed + i);
      const positive = w.name.includes("gamma") || w.name.includes("moving_variance");
      return tf.tensor(u.map((v) => (positive ? 0.5 + 1.5 * v : v - 0.5)), w.shape);
    });
    layer.setWeights(values);
  }
}

async function save(model, name, seed) {
  const folder = join(HERE, name);
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  randomiseBatchnorm(model, seed);
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    const modelJson = {
      modelTopology: artifacts.modelTopology, format: artifacts.format,
      generatedBy: artifacts.generatedBy, convertedBy: artifacts.convertedBy,
      weightsManifest: [{ paths: ["./model.weights.bin"], weights: artifacts.weightSpecs }],
    };
    if (artifacts.trainingConfig != null) modelJson.trainingConfig = artifacts.trainingConfig;
    writeFileSync(join(folder, "model.json"), JSON.stringify(modelJson));
    writeFileSync(join(folder, "model.weights.bin"), Buffer.from(artifacts.weightData));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
  }));
  const inputs = uniforms(INPUTS * SHAPE.reduce((a, b) => a * b), seed + 100);
  const probabilities = model.predict(tf.tensor(inputs, [INPUTS, ...SHAPE])).arraySync();
  writeFileSync(join(folder, "inputs.bin"), Buffer.from(inputs.buffer));
  const expected = { input_shape: [INPUTS, ...SHAPE], inputs: "inputs.bin", probabilities,
                     source: `TF.js ${tf.version.tfjs} model.save(), random weights, cpu backend` };
  writeFileSync(join(folder, "expected.json"), JSON.stringify(expected, null, 1) + "\n");
  console.log(`${name}: ${model.countParams()} parameters`);
}

await tf.setBackend("cpu");
await save(sequentialBatchnorm(), "sequential", 7);
await save(functionalChain(), "functional", 8);
