// The drawing page's main thread once app.js has started the runtime: wires the modules
// together and keeps the live classification loop. Every model call goes through the
// public module (shadernet.mjs): app.model is the drawing model, a Model.

import { ProbabilityBars } from "./bars.js";
import { describeModel, showForward, showInfo, showStartup } from "./hood.js";
import { LayersView } from "./layers_view.js";
import { ModelShelf } from "./models.js";
import { Pen } from "./pen.js";
import { InputPreview, mnistImage } from "./preprocess.js";
import { browserProblem, startupStages } from "./startup.js";
import { setStatus, showBanner, showStage } from "./status.js";
import { Teacher } from "./teach.js";
import { TrainView } from "./train_view.js";
import { shutdown } from "./shadernet.mjs";
import { config, firstModel, runtime, started, startup } from "./app.js";

const $ = (id) => document.getElementById(id);

const state = {
  modelReady: false,
  canTrain: false,
  changedSinceLoad: false,
  current: { name: config.default_model, version: "shipped", url: config.default_model_url },
};
const app = {
  model: null, state, config, params: new URLSearchParams(location.search),
  // The drawing model becomes `next`; the one before is freed.
  useModel: async (next) => {
    const previous = app.model;
    app.model = next;
    if (previous && previous !== next) await previous.dispose().catch(() => {});
  },
  controlsChanged: () => updateControls(),
  drawingUpdated: () => { if (!pen.empty) classify(); },
  fineTuning: () => teacher.training,
};

const pad = $("pad");
const pen = new Pen(pad, { onChange: drawingChanged, onDigitKey: addSample });
const preview = new InputPreview($("input-preview"));
const bars = new ProbabilityBars($("bars"), $("prediction"), $("confidence"));
const teacher = new Teacher(app, preview);
const shelf = new ModelShelf(app);
const layersView = new LayersView($("layers"), $("layer-maps"), () => app.drawingUpdated());
const trainView = runtime ? new TrainView(app, shelf) : null;

function updateControls() {
  const labelling = state.modelReady && !teacher.training;
  for (const button of document.querySelectorAll(".label")) {
    button.disabled = !labelling || pen.empty;
  }
  // Fine-tuning, saving and switching models wait while a network trains from scratch.
  const usable = labelling && !state.scratchTraining;
  $("train").disabled = !usable || teacher.samples.length === 0;
  $("reset").disabled = !usable || !state.changedSinceLoad;
  $("save").disabled = !usable;
  $("model-picker").disabled = !usable;
  $("samples-empty").hidden = teacher.samples.length > 0;
  trainView?.updateControls();
}

function addSample(label) {
  const button = document.querySelector(`.label[data-label="${label}"]`);
  if (button.disabled) return;
  const image = mnistImage(pen.strokes);
  if (!image) return;
  teacher.add(image, label);
  pen.clear();
}

// ---------------------------------------------------------------- live classification

// At most one request in flight; the latest drawing is sent when the previous answer
// lands. data-version / data-settled on the pad say when the bars show the current drawing.
let inFlight = false;
let wanted = false;
let drawingVersion = 0;

function drawingChanged(final) {
  drawingVersion++;
  pad.dataset.version = String(drawingVersion);
  $("undo").disabled = pen.empty;
  updateControls();
  if (pen.empty) {
    preview.show(null);
    bars.show(null);
    layersView.show(null);
    pad.dataset.settled = String(drawingVersion);
    return;
  }
  if (state.refused) {
    $("confidence").textContent = state.refused;
    return;
  }
  if (!state.modelReady) {
    // Kept, and read the moment the model is ready (start() calls classify).
    wanted = true;
    preview.show(mnistImage(pen.strokes));
    $("confidence").textContent = "the model is still loading: it reads this once ready";
    return;
  }
  if (final || !inFlight) classify();
  else wanted = true;
}

async function classify() {
  if (!state.modelReady || inFlight) { wanted = true; return; }
  const image = mnistImage(pen.strokes);
  wanted = false;
  if (!image) return;
  preview.show(image);
  inFlight = true;
  const version = drawingVersion;
  try {
    // With "Layers" open, one call returns the prediction and every layer's output.
    const { model } = app;
    const result = layersView.open ? await model.layerMaps(image)
      : { probabilities: await model.predict(image, 1), ...model.lastRun };
    if (!pen.empty) bars.show(result.probabilities);
    if (!pen.empty && result.layers) layersView.show(result);
    pad.dataset.classified = String(version);
    showForward(result);
  } catch (error) {
    if (error.code === "shader-compile") shadersRefused(error);
    else if (!state.refused) setStatus(`Prediction failed: ${error.message}`, "error");
  } finally {
    inFlight = false;
  }
  if (wanted || version !== drawingVersion) classify();
  else pad.dataset.settled = String(version);
}

// The GPU (or its driver) refused to compile or link the network's shaders: nothing can
// run here, so the page says so once, in words, and stops asking (the runtime is shut
// down). The first line of the error names the program; the rest (the info log, the
// source around the failing line) goes to the console for whoever reports it.
function shadersRefused(error) {
  if (state.refused) return;
  console.error(`shadernet: ${error.message}`);
  const first = error.message.split("\n")[0];
  const message = `This GPU or browser could not compile the network's shaders (${first}), `
    + "so the network cannot run here. Try another browser, or another device.";
  state.refused = "the network cannot run in this browser (see above)";
  state.modelReady = false;
  shutdown();
  updateControls();
  setStatus("Could not compile the network's shaders in this browser.", "error");
  showBanner(message);
  $("confidence").textContent = state.refused;
}

// A lost GL context takes the model's textures with it: say so, and offer a reload.
function contextChanged({ state: change }) {
  if (change !== "lost") return;
  state.modelReady = false;
  updateControls();
  const message = "The GPU context was lost (the GPU was reset or the browser reclaimed it): "
    + "the model is gone from the GPU. Reload the page to start again.";
  setStatus(message, "error");
  showBanner(`${message} `);
  const reload = document.createElement("button");
  reload.textContent = "Reload the page";
  reload.dataset.testid = "reload";
  reload.addEventListener("click", () => location.reload());
  $("banner").append(reload);
  reload.focus();
}

// ---------------------------------------------------------------- wiring and start

$("clear").addEventListener("click", () => pen.clear());
$("undo").addEventListener("click", () => pen.undo());
for (const button of document.querySelectorAll(".label")) {
  button.addEventListener("click", () => addSample(Number(button.dataset.label)));
}
$("train").addEventListener("click", () => teacher.train());
$("reset").addEventListener("click", () => teacher.reset());

async function start() {
  preview.show(null);
  updateControls();
  const problem = browserProblem();
  if (problem) {
    shutdown();
    setStatus(problem, "error");
    showBanner(problem);
    return;
  }
  startup.onProgress = showStage;
  addEventListener("shadernet-context", (event) => contextChanged(event.detail));
  try {
    const info = await runtime;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    showStartup(seconds, info.timings);
    if (!firstModel) {
      setStatus(`No model to load: export one to models/${config.default_model}/ on the server.`, "error");
      showBanner("The server has no default model yet. Train and export one (see the README), then reload.");
      return;
    }
    app.model = await firstModel;
    state.canTrain = app.model.canTrain;
    document.body.dataset.training = String(state.canTrain);
    describeModel(app.model, `${config.default_model} (shipped)`);
    state.modelReady = true;
    window.shadernetReadyMs = performance.now() - started;
    window.shadernetStartup = startupStages(started, { started_at: info.startedAt, timings: info.timings });
    info.warmedUp.then((warm) => {
      if (warm?.error?.code === "shader-compile") shadersRefused(warm.error);
      if (!warm || warm.error) return;  // any other failure shows in the first prediction's
      window.shadernetStartup.warmup = warm.at - performance.timeOrigin;
      showStartup(seconds, info.timings, warm.ms);
    });
    setStatus(`Ready — draw a digit (${seconds} s).`, "ready");
    if (!state.canTrain) $("train").title = "Training is not available in this runtime build yet.";
    updateControls();
    if (wanted || !pen.empty) classify();  // strokes drawn while it started
    // The start-up model is cached for good (a pinned URL): with the server down the page
    // still starts and classifies; only what needs the server says so.
    await Promise.all([showInfo(app.model), shelf.refresh()]).catch((error) => {
      if (state.refused) return;  // said already; the calls after it were shut down
      setStatus(`Ready — draw a digit (${seconds} s); but ${error.message}.`, "error");
    });
  } catch (error) {
    if (error.code === "shader-compile") { shadersRefused(error); return; }
    if (state.refused) return;  // said already; the calls after it were shut down
    const message = `Could not start: ${error.message}`;
    setStatus(message, "error");
    if (/WebGL2|EXT_color_buffer_float/.test(error.message)) showBanner(message);
  }
}

start();
