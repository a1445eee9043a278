// Teach: the person's labelled drawings (samples), fine-tuning on them in the worker with
// MNIST replay, the progress bar and loss chart while it trains, and how many samples the
// model gets right before and after.

import { drawLossChart } from "./chart.js";
import { showInfo, showStep } from "./hood.js";
import { setMeter } from "./meter.js";
import { setStatus } from "./status.js";

const $ = (id) => document.getElementById(id);
const DEFAULT_REPLAY = 300;
// Jittered copies of each drawing (the worker's TrainOptions default, tuned on the teach
// flow's test digits; the public fit's own default is none).
const DEFAULT_COPIES = 7;

// Knobs for experiments and fast tests: ?epochs=2&copies=4&replay=200&lr=0.002
function trainOptions(params) {
  const options = { copies: params.has("copies") ? Number(params.get("copies")) : DEFAULT_COPIES };
  if (params.has("epochs")) options.epochs = Number(params.get("epochs"));
  if (params.has("lr")) options.lr = Number(params.get("lr"));
  return options;
}

function stackImages(samples) {
  const images = new Float32Array(samples.length * 784);
  samples.forEach((s, i) => images.set(s.image, i * 784));
  return images;
}

export class Teacher {
  // app: {model, state, config, params, controlsChanged(), drawingUpdated()}
  constructor(app, preview) {
    this.app = app;
    this.preview = preview;
    this.samples = [];   // {image: Float32Array(784), label, element, caption}
    this.losses = [];
    this.training = false;
    this.chart = $("loss-chart");
    this.meter = $("train-progress");
  }

  add(image, label) {
    const sample = { image, label };
    const item = document.createElement("li");
    item.dataset.testid = "sample";
    item.dataset.label = String(label);
    const picture = document.createElement("img");
    picture.src = this.preview.thumbnail(image);
    picture.alt = `your ${label}`;
    const caption = Object.assign(document.createElement("span"),
                                  { className: "caption", textContent: String(label) });
    const remove = Object.assign(document.createElement("button"),
                                 { type: "button", className: "remove", textContent: "×" });
    remove.setAttribute("aria-label", `Remove this sample of a ${label}`);
    remove.addEventListener("click", () => {
      this.samples.splice(this.samples.indexOf(sample), 1);
      item.remove();
      this.app.controlsChanged();
    });
    item.append(picture, caption, remove);
    Object.assign(sample, { element: item, caption });
    this.samples.push(sample);
    $("samples").append(item);
    const n = this.samples.length;
    setStatus(`Added your drawing as a ${label} (${n} sample${n > 1 ? "s" : ""}). Draw another, or train.`, "ready");
  }

  // How many samples the model now gets right; marks each thumbnail.
  async check() {
    const { samples } = this;
    if (!samples.length) return { right: 0, total: 0 };
    const probabilities = await this.app.model.predict(stackImages(samples), samples.length);
    let right = 0;
    samples.forEach((sample, i) => {
      const row = probabilities.slice(i * 10, i * 10 + 10);
      const guess = row.indexOf(Math.max(...row));
      const ok = guess === sample.label;
      right += ok;
      sample.element.classList.toggle("right", ok);
      sample.element.classList.toggle("wrong", !ok);
      sample.caption.textContent = ok ? `${sample.label} ✓` : `${sample.label} (${guess})`;
    });
    return { right, total: samples.length };
  }

  async train() {
    const { app, samples } = this;
    if (!app.state.canTrain) {
      setStatus("Training is not available in this runtime build yet.", "error");
      return;
    }
    this.training = true;
    app.controlsChanged();
    $("training").hidden = false;
    this.losses.length = 0;
    drawLossChart(this.chart, this.losses, 1);
    setMeter(this.meter, 0, "not started");
    $("train-result").textContent = "";
    try {
      const before = await this.check();
      const labels = Int32Array.from(samples, (s) => s.label);
      const replayCount = app.params.has("replay") ? Number(app.params.get("replay")) : DEFAULT_REPLAY;
      setStatus(`Training on ${samples.length} samples + ${replayCount} MNIST images…`);
      const replay = { url: app.config.replay_url || "/api/replay", count: replayCount };
      const result = await app.model.fit(stackImages(samples), labels, samples.length, {
        ...trainOptions(app.params), replay, onProgress: (report) => this.progress(report) });
      app.state.changedSinceLoad = true;
      const after = await this.check();
      const text = `Trained ${result.steps} steps in ${(result.ms / 1000).toFixed(1)} s. ` +
        `Your samples right: ${after.right} of ${after.total} (before: ${before.right}).`;
      $("train-result").textContent = text;
      await showInfo(app.model, { sources: false });
      setStatus(`Ready — ${text}`, "ready");
    } catch (error) {
      setStatus(`Training failed: ${error.message}`, "error");
    } finally {
      this.training = false;
      app.controlsChanged();
    }
    app.drawingUpdated();
  }

  // A step's report (fit's onProgress): {step, total, loss, ms, draws, gl_calls}.
  progress(report) {
    const { step, total, loss } = report;
    this.losses.push(loss);
    setMeter(this.meter, step / total, `step ${step} of ${total}`);
    showStep(report);
    requestAnimationFrame(() => drawLossChart(this.chart, this.losses, total));
    setStatus(`Training… step ${step} of ${total}, loss ${loss.toFixed(3)}`);
  }

  async reset() {
    const { app } = this;
    try {
      await app.model.reset();
      app.state.changedSinceLoad = false;
      app.controlsChanged();
      const check = await this.check();
      setStatus("Ready — model reset to the loaded weights" +
                (check.total ? ` (your samples right: ${check.right} of ${check.total})` : ""), "ready");
      app.drawingUpdated();
    } catch (error) {
      setStatus(`Reset failed: ${error.message}`, "error");
    }
  }
}
