// The Train panel: trains a network of the ladder from scratch (shadernet.mjs's Trainer,
// in the worker) on MNIST from this server (mnist_data.js), with a progress bar,
// live curves and figures, pause / resume / stop, and at the end the test accuracy, the
// confusion matrix and the most confident mistakes; the result can become the drawing
// model at once or be saved to the server as a new model.

import { drawCurves } from "./chart.js";
import { describeModel, showInfo } from "./hood.js";
import { setMeter } from "./meter.js";
import { loadMnist } from "./mnist_data.js";
import { createTrainer } from "./shadernet.mjs";
import { setStatus } from "./status.js";
import { TrainForm } from "./train_form.js";
import { showConfusion, showMistakes } from "./train_results.js";

const $ = (id) => document.getElementById(id);
const TRAIN = "#2f6fdb";
const VALIDATION = "#e07b39";
const MISTAKES_SHOWN = 16;

const percent = (value) => `${(value * 100).toFixed(1)}%`;

function duration(seconds) {
  if (!Number.isFinite(seconds)) return "–";
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s` : `${s} s`;
}

export class TrainView {
  // app: {model, useModel(next), state, config, params, controlsChanged(), drawingUpdated()};
  // shelf: ModelShelf
  constructor(app, shelf) {
    this.app = app;
    this.shelf = shelf;
    this.form = new TrainForm();
    this.panel = $("scratch");
    this.meter = $("scratch-progress");
    this.ladderLoading = null;
    this.trainer = null;       // the Trainer, once the panel was first opened
    this.trained = null;       // {name, title} of the model the session holds, once a run ended
    this.paused = false;
    this.resetCurves();
    this.panel.addEventListener("toggle", () => { if (this.panel.open) this.loadLadder(); });
    $("scratch-start").addEventListener("click", () => this.train());
    $("scratch-pause").addEventListener("click", () => this.togglePause());
    $("scratch-stop").addEventListener("click", () => this.stop());
    $("scratch-use").addEventListener("click", () => this.useForDrawing());
    $("scratch-save-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.save($("scratch-save-name").value.trim());
    });
    window.addEventListener("resize", () => { if (!$("scratch-live").hidden) this.drawCharts(); });
  }

  get training() { return this.app.state.scratchTraining === true; }

  // The trainer and its ladder, once, when the panel is first opened (after the runtime).
  loadLadder() {
    this.ladderLoading ??= createTrainer().then((trainer) => {
      this.trainer = trainer;
      this.form.showLadder(trainer.ladder, this.app.params.get("arch"));
      this.updateControls();
    }, (error) => {
      this.ladderLoading = null;
      $("scratch-arch-info").textContent = `Could not list the architectures: ${error.message}`;
    });
    return this.ladderLoading;
  }

  updateControls() {
    const { training, trained, form } = this;
    const ready = this.app.state.modelReady && form.ladder.length > 0 && !this.app.fineTuning();
    $("scratch-start").disabled = !ready || training;
    $("scratch-pause").disabled = !training;
    $("scratch-stop").disabled = !training;
    $("scratch-use").disabled = training || !trained || !this.app.state.modelReady;
    $("scratch-save").disabled = training || !trained;
    form.setEnabled(!training);
  }

  setTraining(on) {
    this.app.state.scratchTraining = on;
    this.app.controlsChanged();  // which updates this panel's controls too
  }

  resetCurves() {
    this.curves = { loss: [], accuracy: [], valLoss: [], valAccuracy: [], steps: 1, epochs: 1 };
  }

  async train() {
    let options;
    try {
      options = this.form.options();
    } catch (error) {
      setStatus(error.message, "error");
      return;
    }
    const rung = this.form.rung();
    const { seed } = options;
    this.paused = false;
    this.trained = null;
    this.resetCurves();
    for (const id of ["scratch-train", "scratch-val", "scratch-rate", "scratch-speed"]) $(id).textContent = "–";
    $("scratch-live").hidden = false;
    this.drawCharts();
    $("scratch-results").hidden = true;
    this.setTraining(true);
    try {
      await this.ensureData();
      setMeter(this.meter, 0, "starting");
      $("scratch-line").textContent = `Creating ${rung.title} with fresh random weights (seed ${seed})…`;
      await this.trainer.create(rung.name, { seed, dropout: options.dropout });
      setStatus(`Training ${rung.title} from scratch…`);
      const result = await this.trainer.train(options, { onProgress: (event) => this.progress(event) });
      this.trained = { name: rung.name, title: rung.title };
      const how = result.stopped ? `Stopped after ${result.steps_done} steps` : `Trained ${result.steps_done} steps`;
      const best = result.best_val_accuracy === null ? ""
        : `; best epoch ${result.best_epoch} (validation ${percent(result.best_val_accuracy)}), kept`;
      $("scratch-line").textContent = `${how} in ${duration(result.ms / 1000)}${best}. Testing…`;
      await this.showResults();
      $("scratch-line").textContent = `${how} in ${duration(result.ms / 1000)}${best}.`;
      setStatus(`Ready — ${rung.title} trained here: ${$("scratch-test").textContent}`, "ready");
    } catch (error) {
      setStatus(`Training from scratch failed: ${error.message}`, "error");
      $("scratch-line").textContent = `Failed: ${error.message}`;
    } finally {
      this.paused = false;
      $("scratch-pause").textContent = "Pause";
      $("scratch-pause").setAttribute("aria-pressed", "false");
      this.setTraining(false);
      await showInfo(this.app.model, { sources: false }).catch(() => {});
    }
  }

  // MNIST to the trainer once per page: downloaded (the browser caches it), buffers moved.
  async ensureData() {
    if (this.trainer.hasData) return;
    setMeter(this.meter, 0, "downloading MNIST");
    $("scratch-line").textContent = "Downloading MNIST from this server…";
    const data = await loadMnist(this.app.config.mnist_url || "/api/mnist", (fraction) => {
      setMeter(this.meter, fraction, `downloading MNIST, ${Math.round(fraction * 100)}%`);
      $("scratch-line").textContent = `Downloading MNIST from this server… ${Math.round(fraction * 100)}%`;
    });
    $("scratch-line").textContent = "Handing MNIST to the worker…";
    await this.trainer.setData({
      trainImages: data.train_images, trainLabels: data.train_labels, nTrain: data.n_train,
      testImages: data.test_images, testLabels: data.test_labels, nTest: data.n_test,
    }, { transfer: true });
  }

  // A progress event of the trainer's run (kind "batch" after each step, "epoch" after each epoch).
  progress(event) {
    const c = this.curves;
    if (event.kind === "batch") {
      c.steps = event.steps;
      c.epochs = event.epochs;
      c.loss.push([event.step, event.smoothed_loss]);
      c.accuracy.push([event.step, event.smoothed_accuracy]);
      setMeter(this.meter, event.step / event.steps, `step ${event.step} of ${event.steps}`);
      $("scratch-line").textContent = `Epoch ${event.epoch} of ${event.epochs} · step ` +
        `${event.step} of ${event.steps} · ${duration(event.elapsed_s)} so far, about ` +
        `${duration(event.eta_s)} to go${this.paused ? " · paused" : ""}`;
      $("scratch-train").textContent = `${event.smoothed_loss.toFixed(3)} · ${percent(event.smoothed_accuracy)} ` +
        `(this batch: ${event.loss.toFixed(3)} · ${percent(event.accuracy)})`;
      $("scratch-rate").textContent = event.learning_rate.toPrecision(3);
      $("scratch-speed").textContent = `${Math.round(event.images_per_s).toLocaleString("en")} images/s`;
      this.meter.dataset.step = String(event.step);
    } else if (event.kind === "epoch" && event.val_loss === null) {
      $("scratch-val").textContent = `none (no validation images; epoch ${event.epoch} done)`;
    } else if (event.kind === "epoch") {
      const x = (event.epoch / event.epochs) * c.steps;
      c.valLoss.push([x, event.val_loss]);
      c.valAccuracy.push([x, event.val_accuracy]);
      $("scratch-val").textContent = `${event.val_loss.toFixed(3)} · ${percent(event.val_accuracy)} ` +
        `(epoch ${event.epoch}; best: epoch ${event.best_epoch}, ${percent(event.best_val_accuracy)})`;
    }
    if (!this.drawPending) {
      this.drawPending = true;
      requestAnimationFrame(() => { this.drawPending = false; this.drawCharts(); });
    }
  }

  drawCharts() {
    const c = this.curves;
    for (const canvas of [$("scratch-loss-chart"), $("scratch-accuracy-chart")]) {
      // Drawn at the size it is shown, so the axis labels stay readable on a phone.
      const width = Math.round(canvas.clientWidth);
      if (width > 0 && canvas.width !== width) {
        canvas.width = width;
        canvas.height = Math.round(width * 170 / 560);
      }
    }
    const label = `step ${c.loss.at(-1)?.[0] ?? 0}/${c.steps}`;
    drawCurves($("scratch-loss-chart"), [
      { points: c.loss, color: TRAIN }, { points: c.valLoss, color: VALIDATION, dots: true },
    ], { xMax: c.steps, label });
    drawCurves($("scratch-accuracy-chart"), [
      { points: c.accuracy, color: TRAIN }, { points: c.valAccuracy, color: VALIDATION, dots: true },
    ], { xMax: c.steps, yMax: 1, label });
  }

  async showResults() {
    const n = this.app.params.has("test_images") ? Number(this.app.params.get("test_images")) : null;
    const result = await this.trainer.evaluate({ n, mistakes: MISTAKES_SHOWN });
    $("scratch-test").textContent = `Test accuracy ${percent(result.accuracy)} on ` +
      `${result.images.toLocaleString("en")} test images (loss ${result.loss.toFixed(3)})`;
    showConfusion($("scratch-confusion"), result.confusion);
    showMistakes($("scratch-mistakes"), result.mistakes);
    $("scratch-results").hidden = false;
  }

  async togglePause() {
    const pausing = !this.paused;
    try {
      await (pausing ? this.trainer.pause() : this.trainer.resume());
      this.paused = pausing;
      $("scratch-pause").textContent = pausing ? "Resume" : "Pause";
      $("scratch-pause").setAttribute("aria-pressed", String(pausing));
      setStatus(pausing ? "Training paused: drawing works meanwhile; Resume goes on." : "Training…");
    } catch (error) {
      setStatus(`Could not ${pausing ? "pause" : "resume"}: ${error.message}`, "error");
    }
  }

  async stop() {
    $("scratch-stop").disabled = true;
    $("scratch-line").textContent = "Stopping after this step; keeping the best weights so far…";
    try {
      await this.trainer.stop();
    } catch (error) {
      setStatus(`Could not stop: ${error.message}`, "error");
    }
  }

  // The trained network becomes the drawing model (a Model of its own; the one before is freed).
  async useForDrawing() {
    const { app, trained } = this;
    const label = `${trained.title} (trained here)`;
    app.state.modelReady = false;
    app.controlsChanged();
    try {
      const model = await this.trainer.toModel();
      await app.useModel(model);
      app.state.current = { name: `scratch-${trained.name.replace(/_/g, "-")}`, version: "unsaved", url: null };
      app.state.changedSinceLoad = false;
      app.state.canTrain = model.canTrain;
      describeModel(model, label);
      setStatus(`Ready — ${label} now reads your drawing.`, "ready");
      await showInfo(model);
    } catch (error) {
      setStatus(`Could not use the trained model: ${error.message}`, "error");
    } finally {
      app.state.modelReady = true;
      app.controlsChanged();
      this.updateControls();
      app.drawingUpdated();
    }
  }

  async save(name) {
    $("scratch-save").disabled = true;
    try {
      await this.shelf.upload(name, () => this.trainer.export(), null,
                              $("scratch-save-name"));
    } finally {
      this.updateControls();
    }
  }
}
