// Timing helpers of the benchmark page, driven by bench/browser.py through Playwright.
//
// Every figure is taken here with performance.now() around one call: our Python
// (bench/pages/ours.py through the Pyodide FFI) or TF.js, both handed the same host
// Float32Array and both writing the probabilities back into a host Float32Array
// (TF.js: dataSync(); ours: one readPixels, then JsBuffer.assign). Loops interleave
// ours and TF.js run by run (A/B/A/B) so a busy machine slows both alike.
//
// The training section steps both sides the same way (trainFirst, interleaveTrain); the
// start-up section uses other pages (the real page, tfjs_startup.html) in fresh contexts.
import { loadPyodide } from "/node_modules/pyodide/pyodide.mjs";

const now = () => performance.now();
const state = { ours: null, tfModel: null, tfInputShape: null, images: null, labels: null,
                count: 0 };

window.benchReady = (async () => {
  const started = now();
  window.pyodide = await loadPyodide({ indexURL: "/node_modules/pyodide/" });
  return now() - started;
})();

function rendererOf(gl) {
  const info = gl.getExtension("WEBGL_debug_renderer_info");
  return String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
}

// Wrap every WebGL2 method on this one context object with a counter until stop().
// Own properties shadow the prototype; deleting them restores the plain methods.
function glCounter(gl) {
  const proto = WebGL2RenderingContext.prototype;
  const names = Object.getOwnPropertyNames(proto).filter((name) => {
    const desc = Object.getOwnPropertyDescriptor(proto, name);
    return name !== "constructor" && typeof desc.value === "function";
  });
  const counts = { draws: 0, gl_calls: 0, programs: new Set() };
  for (const name of names) {
    const original = proto[name];
    const isDraw = name.startsWith("draw");
    gl[name] = function (...args) {
      counts.gl_calls += 1;
      if (isDraw) counts.draws += 1;
      if (name === "useProgram" && args[0]) counts.programs.add(args[0]);
      return original.apply(this, args);
    };
  }
  return () => {
    for (const name of names) delete gl[name];
    return { draws: counts.draws, gl_calls: counts.gl_calls, programs: counts.programs.size };
  };
}

function countGlCalls(gl, fn) {
  const stop = glCounter(gl);
  try {
    fn();
  } catch (error) {
    stop();
    throw error;
  }
  return stop();
}

// The same for an async fn (nothing else runs on this page meanwhile).
async function countGlCallsAsync(gl, fn) {
  const stop = glCounter(gl);
  try {
    await fn();
  } catch (error) {
    stop();
    throw error;
  }
  return stop();
}

function batchOf(n, run) {
  const batches = Math.max(1, Math.floor(state.count / n));
  const start = (run % batches) * n * state.pixels;
  return state.images.subarray(start, start + n * state.pixels);
}

const outputs = new Map();
function outputFor(side, n) {
  const key = `${side}:${n}`;
  if (!outputs.has(key)) outputs.set(key, new Float32Array(n * state.outputSize));
  return outputs.get(key);
}

function oursPredict(n, run = 0) {
  state.ours.predict(batchOf(n, run), n, outputFor("ours", n));
}

function tfPredict(n, run = 0) {
  const x = batchOf(n, run);
  // batchSize n: LayersModel.predict otherwise splits into batches of 32 (8 passes at 256).
  const y = tf.tidy(() => state.tfModel.predict(tf.tensor(x, [n, ...state.tfInputShape]),
                                                { batchSize: n }));
  outputFor("tfjs", n).set(y.dataSync());
  y.dispose();
}

function batchLabels(n, run = 0) {
  const batches = Math.max(1, Math.floor(state.count / n));
  const start = (run % batches) * n;
  return state.labels.subarray(start, start + n);
}

// One TF.js SGD step on batch `run` of size n: upload, trainOnBatch, the loss read back.
async function tfTrainStep(n, run) {
  const x = tf.tensor(batchOf(n, run), [n, ...state.tfInputShape]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(batchLabels(n, run), "int32"), state.outputSize));
  try {
    return await state.tfModel.trainOnBatch(x, y);  // resolves once the loss is read back
  } finally {
    x.dispose();
    y.dispose();
  }
}

function timed(fn) {
  const started = now();
  fn();
  return now() - started;
}

window.bench = {
  // Install the runtime wheel, run ours.py, start TF.js webgl. Returns facts to print.
  async setup(wheelUrl) {
    const started = now();
    await pyodide.loadPackage(wheelUrl);
    pyodide.runPython(await (await fetch("/bench/pages/ours.py")).text());
    const get = (name) => pyodide.globals.get(name);
    state.ours = {
      load: get("ours_load"), predict: get("ours_predict"),
      lastForward: get("ours_last_forward"), renderer: get("ours_renderer"), dispose: get("ours_dispose"),
      trainLoad: get("ours_train_load"), trainStep: get("ours_train_step"),
      lastStep: get("ours_last_step"),
    };
    const wheelMs = now() - started;
    tf.wasm.setWasmPaths("/node_modules/@tensorflow/tfjs-backend-wasm/dist/");
    if (!(await tf.setBackend("webgl"))) {
      throw new Error("TF.js could not start its webgl backend: this browser gave it no WebGL " +
        `context (ours got: ${state.ours.renderer()}). With --gpu, the GPU flags found no ` +
        "usable GPU: check the driver/ICD set-up in bench/README.md or try other --gpu-flags.");
    }
    await tf.ready();
    return {
      wheel_ms: wheelMs, tfjs_version: tf.version.tfjs, user_agent: navigator.userAgent,
      renderer_ours: state.ours.renderer(), renderer_tfjs: rendererOf(tf.backend().gpgpu.gl),
      cross_origin_isolated: self.crossOriginIsolated,
    };
  },

  // MNIST images (float32 NHWC, base64) shared by both sides.
  setImages(base64, count, pixels, outputSize) {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    state.images = new Float32Array(bytes.buffer);
    state.count = count;
    state.pixels = pixels;
    state.outputSize = outputSize;
    outputs.clear();
  },

  // Load -> first prediction (batch 1), shader compiles included. Ours compiles and draws
  // batch 1 at load (warm_up); TF.js compiles at its first predict.
  async oursFirst(url) {
    const started = now();
    await state.ours.load(url);
    const loaded = now();
    oursPredict(1);
    const done = now();
    return { load_ms: loaded - started, predict_ms: done - loaded, total_ms: done - started };
  },

  async tfFirst(url) {
    const started = now();
    state.tfModel = await tf.loadLayersModel(`${url}/model.json`);
    state.tfInputShape = state.tfModel.inputs[0].shape.slice(1);
    const loaded = now();
    tfPredict(1);
    const done = now();
    return { load_ms: loaded - started, predict_ms: done - loaded, total_ms: done - started };
  },

  // `runs` predictions of batch n, ours and TF.js alternating; ms per call for each side.
  interleave(n, runs) {
    const ours = [];
    const tfjs = [];
    for (let run = 0; run < runs; run += 1) {
      ours.push(timed(() => oursPredict(n, run)));
      tfjs.push(timed(() => tfPredict(n, run)));
    }
    return { ours, tfjs };
  },

  // Draws, GL calls and programs of one forward pass of batch n (after warm-up).
  counts(n) {
    oursPredict(n);
    const ours = JSON.parse(state.ours.lastForward());
    const tfjs = countGlCalls(tf.backend().gpgpu.gl, () => tfPredict(n));
    return { ours, tfjs };
  },

  // Same images through both: the largest probability difference and argmax agreement.
  agreement(n) {
    oursPredict(n);
    tfPredict(n);
    const a = outputFor("ours", n);
    const b = outputFor("tfjs", n);
    const k = state.outputSize;
    let maxDiff = 0;
    let sameArgmax = 0;
    for (let i = 0; i < n; i += 1) {
      let ia = 0;
      let ib = 0;
      for (let j = 0; j < k; j += 1) {
        maxDiff = Math.max(maxDiff, Math.abs(a[i * k + j] - b[i * k + j]));
        if (a[i * k + j] > a[i * k + ia]) ia = j;
        if (b[i * k + j] > b[i * k + ib]) ib = j;
      }
      if (ia === ib) sameArgmax += 1;
    }
    return { max_abs_diff: maxDiff, same_argmax: sameArgmax, n };
  },

  tfDispose() {
    // An optimizer passed to compile() is not the model's to dispose (its iteration count).
    state.tfModel?.optimizer?.dispose();
    if (state.tfModel) state.tfModel.dispose();
    state.tfModel = null;
    return tf.memory().numTensors;
  },

  // TF.js wasm backend, batch-1 latency, for context (no interleaving: ours is not in it).
  async wasmLatency(url, warm, runs) {
    await tf.setBackend("wasm");
    try {
      const started = now();
      state.tfModel = await tf.loadLayersModel(`${url}/model.json`);
      state.tfInputShape = state.tfModel.inputs[0].shape.slice(1);
      tfPredict(1);
      const firstMs = now() - started;
      for (let run = 0; run < warm; run += 1) tfPredict(1, run);
      const samples = [];
      for (let run = 0; run < runs; run += 1) samples.push(timed(() => tfPredict(1, run)));
      return { first_ms: firstMs, samples };
    } finally {
      if (state.tfModel) state.tfModel.dispose();
      state.tfModel = null;
      await tf.setBackend("webgl");
    }
  },

  // -- training (one SGD step at batch n, ours fit_batch vs TF.js trainOnBatch) --------

  // Both sides load `url` fresh (no forward warm-up) and set up plain SGD at `rate`;
  // then one step each on the first n images: compiles included, loss of each.
  async trainFirst(url, n, rate) {
    const labels = batchLabels(n);
    let started = now();
    await state.ours.trainLoad(url, rate);
    const oursLoadMs = now() - started;
    started = now();
    const oursLoss = state.ours.trainStep(batchOf(n, 0), labels, n);
    const oursStepMs = now() - started;
    started = now();
    state.tfModel = await tf.loadLayersModel(`${url}/model.json`);
    state.tfInputShape = state.tfModel.inputs[0].shape.slice(1);
    state.tfModel.compile({ optimizer: tf.train.sgd(rate), loss: "categoricalCrossentropy" });
    const tfLoadMs = now() - started;
    started = now();
    const tfLoss = await tfTrainStep(n, 0);
    const tfStepMs = now() - started;
    return { ours: { load_ms: oursLoadMs, step_ms: oursStepMs, loss: oursLoss },
             tfjs: { load_ms: tfLoadMs, step_ms: tfStepMs, loss: tfLoss } };
  },

  // `runs` training steps per side, alternating; ms per step (loss read back included).
  async interleaveTrain(n, runs) {
    const ours = [];
    const tfjs = [];
    for (let run = 0; run < runs; run += 1) {
      let started = now();
      state.ours.trainStep(batchOf(n, run), batchLabels(n, run), n);
      ours.push(now() - started);
      started = now();
      await tfTrainStep(n, run);
      tfjs.push(now() - started);
    }
    return { ours, tfjs };
  },

  // Draws and GL calls of one training step on each side.
  async trainCounts(n) {
    state.ours.trainStep(batchOf(n, 0), batchLabels(n, 0), n);
    const ours = JSON.parse(state.ours.lastStep());
    const tfjs = await countGlCallsAsync(tf.backend().gpgpu.gl, () => tfTrainStep(n, 0));
    return { ours, tfjs };
  },

  // Labels of the images given to setImages (ints 0..9, same order).
  setLabels(labels) {
    state.labels = Int32Array.from(labels);
  },

  // Run Python in the page (async allowed); the last expression should be JSON text.
  async python(code) {
    const result = await pyodide.runPythonAsync(code);
    if (result && typeof result.destroy === "function") {
      const text = String(result);
      result.destroy();
      return text;
    }
    return result;
  },
};
