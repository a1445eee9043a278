// The drawing page's main thread: the pen, MNIST-style preprocessing, the bars, the teach
// panel and the charts. The model lives in a module worker (worker.js: Pyodide + the
// shadernet runtime on an OffscreenCanvas WebGL2 context), so drawing never waits for it.

const config = JSON.parse(document.getElementById("shadernet-config").textContent);
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

// ----------------------------------------------------------------------------- status

const statusLine = $("status");
function setStatus(text, kind = "") {
  statusLine.textContent = text;
  statusLine.className = `status ${kind}`;
}
function showBanner(text) {
  const banner = $("banner");
  banner.textContent = text;
  banner.hidden = false;
}

// ----------------------------------------------------------------------------- the worker

class ModelWorker {
  constructor(url) {
    this.worker = new Worker(url, { type: "module" });
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = { progress: () => {}, train: () => {}, warmup: () => {} };
    this.worker.onmessage = (event) => this.receive(event.data);
    this.worker.onerror = (event) => {
      event.preventDefault();
      this.failAll(`the worker failed: ${event.message || "could not start it"}`);
    };
  }

  call(method, ...args) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, method, args });
    });
  }

  receive(message) {
    if (message.id === undefined) {
      this.listeners[message.type]?.(message);
      return;
    }
    const waiting = this.pending.get(message.id);
    this.pending.delete(message.id);
    if (!waiting) return;
    if ("error" in message) waiting.reject(new Error(message.error));
    else waiting.resolve(message.result);
  }

  terminate() {
    this.worker.terminate();
    this.failAll("the worker was stopped");
  }

  failAll(text) {
    for (const { reject } of this.pending.values()) reject(new Error(text));
    this.pending.clear();
  }
}

// ----------------------------------------------------------------------------- drawing

const pad = $("pad");
const padContext = pad.getContext("2d");
const strokes = [];          // each stroke: [{x, y}] in pad units (0..PAD_SIZE)
let activeStroke = null;
let activePointer = null;
const PAD_SIZE = 400;
const PEN_WIDTH = 26;        // on the pad, in pad units

function fitPadResolution() {
  const ratio = Math.min(window.devicePixelRatio || 1, 3);
  const size = Math.round(pad.clientWidth * ratio) || PAD_SIZE;
  if (pad.width !== size) {
    pad.width = pad.height = size;
    redraw();
  }
}

// Quadratic curves through the midpoints: a smooth line through noisy pointer samples.
function tracePath(context, points) {
  context.beginPath();
  context.moveTo(points[0].x, points[0].y);
  if (points.length === 1) {
    context.lineTo(points[0].x + 0.01, points[0].y);
  } else {
    for (let i = 1; i < points.length - 1; i++) {
      const mid = { x: (points[i].x + points[i + 1].x) / 2, y: (points[i].y + points[i + 1].y) / 2 };
      context.quadraticCurveTo(points[i].x, points[i].y, mid.x, mid.y);
    }
    const last = points[points.length - 1];
    context.lineTo(last.x, last.y);
  }
  context.stroke();
}

function strokeAll(context, lineWidth, color) {
  context.lineCap = "round";
  context.lineJoin = "round";
  context.lineWidth = lineWidth;
  context.strokeStyle = color;
  for (const stroke of strokes) tracePath(context, stroke);
}

let redrawQueued = false;
function redraw() {
  redrawQueued = false;
  const scale = pad.width / PAD_SIZE;
  padContext.setTransform(1, 0, 0, 1, 0, 0);
  padContext.clearRect(0, 0, pad.width, pad.height);
  padContext.setTransform(scale, 0, 0, scale, 0, 0);
  strokeAll(padContext, PEN_WIDTH, "#15171c");
}
function queueRedraw() {
  if (!redrawQueued) {
    redrawQueued = true;
    requestAnimationFrame(redraw);
  }
}

function padPoint(event) {
  const box = pad.getBoundingClientRect();
  return { x: (event.clientX - box.left) * PAD_SIZE / box.width,
           y: (event.clientY - box.top) * PAD_SIZE / box.height };
}

pad.addEventListener("pointerdown", (event) => {
  if (activePointer !== null || (event.pointerType === "mouse" && event.button !== 0)) return;
  event.preventDefault();
  pad.focus({ preventScroll: true, focusVisible: false });
  pad.setPointerCapture(event.pointerId);
  activePointer = event.pointerId;
  activeStroke = [padPoint(event)];
  strokes.push(activeStroke);
  queueRedraw();
  drawingChanged(false);
});

pad.addEventListener("pointermove", (event) => {
  if (event.pointerId !== activePointer) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const sample of events.length ? events : [event]) {
    const point = padPoint(sample);
    const last = activeStroke[activeStroke.length - 1];
    if (Math.hypot(point.x - last.x, point.y - last.y) >= 1.5) activeStroke.push(point);
  }
  queueRedraw();
  drawingChanged(false);
});

function endStroke(event) {
  if (event.pointerId !== activePointer) return;
  activePointer = null;
  activeStroke = null;
  queueRedraw();
  drawingChanged(true);
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

pad.addEventListener("keydown", (event) => {
  if (event.key === "Escape" || event.key === "Delete" || event.key === "Backspace") {
    event.preventDefault();
    clearDrawing();
  } else if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
    event.preventDefault();
    undoStroke();
  } else if (/^[0-9]$/.test(event.key) && !event.ctrlKey && !event.metaKey && !event.altKey) {
    const button = document.querySelector(`.label[data-label="${event.key}"]`);
    if (!button.disabled) button.click();  // teach: "this drawing is a <key>"
  }
});

function clearDrawing() {
  strokes.length = 0;
  activeStroke = null;
  activePointer = null;
  queueRedraw();
  drawingChanged(true);
}

function undoStroke() {
  if (activePointer !== null) return;
  strokes.pop();
  queueRedraw();
  drawingChanged(true);
}

$("clear").addEventListener("click", clearDrawing);
$("undo").addEventListener("click", undoStroke);

// ----------------------------------------------------------------------------- preprocessing

// Like MNIST: the ink's bounding box (stroke width included) scaled so its longest side is
// 20 px, keeping the aspect ratio, drawn anti-aliased into 28x28, then moved so that its
// centre of mass is at the centre. The strokes are re-drawn as vectors at that scale, so a
// tiny or huge drawing gets the same clean, MNIST-thick pen (STROKE_28 px).
const STROKE_28 = 2.6;
const BOX_28 = 20;
const small = document.createElement("canvas");
small.width = small.height = 28;
const smallContext = small.getContext("2d", { willReadFrequently: true });

function inkBounds() {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const stroke of strokes) {
    for (const { x, y } of stroke) {
      minX = Math.min(minX, x); maxX = Math.max(maxX, x);
      minY = Math.min(minY, y); maxY = Math.max(maxY, y);
    }
  }
  return { minX, minY, maxX, maxY };
}

function render28(scale, centreX, centreY, shiftX, shiftY) {
  smallContext.setTransform(1, 0, 0, 1, 0, 0);
  smallContext.fillStyle = "#000";
  smallContext.fillRect(0, 0, 28, 28);
  smallContext.setTransform(scale, 0, 0, scale, 14 + shiftX - centreX * scale,
                            14 + shiftY - centreY * scale);
  strokeAll(smallContext, STROKE_28 / scale, "#fff");
  const rgba = smallContext.getImageData(0, 0, 28, 28).data;
  const image = new Float32Array(784);
  for (let i = 0; i < 784; i++) image[i] = rgba[4 * i] / 255;
  return image;
}

function centreOfMass(image) {
  let total = 0, sumX = 0, sumY = 0;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const v = image[y * 28 + x];
      total += v; sumX += v * (x + 0.5); sumY += v * (y + 0.5);
    }
  }
  return total > 0 ? { x: sumX / total, y: sumY / total } : { x: 14, y: 14 };
}

function preprocess() {
  if (!strokes.length) return null;
  const { minX, minY, maxX, maxY } = inkBounds();
  // A dot or a tiny scribble is not blown up into a blob: at least 10% of the pad.
  const longest = Math.max(maxX - minX, maxY - minY, PAD_SIZE * 0.1);
  const scale = (BOX_28 - STROKE_28) / longest;
  const centreX = (minX + maxX) / 2, centreY = (minY + maxY) / 2;
  const first = render28(scale, centreX, centreY, 0, 0);
  const mass = centreOfMass(first);
  return render28(scale, centreX, centreY, 14 - mass.x, 14 - mass.y);
}

const preview = $("input-preview");
const previewContext = preview.getContext("2d");
function showInput(image) {
  const pixels = previewContext.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = image ? Math.round(image[i] * 255) : 0;
    pixels.data[4 * i] = pixels.data[4 * i + 1] = pixels.data[4 * i + 2] = v;
    pixels.data[4 * i + 3] = 255;
  }
  previewContext.putImageData(pixels, 0, 0);
}

function thumbnail(image) {
  showInput(image);
  return preview.toDataURL("image/png");
}

// ----------------------------------------------------------------------------- prediction

const bars = [];
function buildBars() {
  const list = $("bars");
  for (let digit = 0; digit < 10; digit++) {
    const item = document.createElement("li");
    item.dataset.testid = `prob-${digit}`;
    item.setAttribute("aria-label", `${digit}: 0%`);
    item.innerHTML = `<span class="name">${digit}</span>
      <span class="track"><span class="fill"></span></span><span class="value">0%</span>`;
    list.append(item);
    bars.push({ item, fill: item.querySelector(".fill"), value: item.querySelector(".value") });
  }
}

function showProbabilities(probabilities) {
  let best = -1;
  if (probabilities) best = probabilities.indexOf(Math.max(...probabilities));
  bars.forEach((bar, digit) => {
    const p = probabilities ? probabilities[digit] : 0;
    const percent = `${(p * 100).toFixed(p >= 0.995 || p < 0.001 ? 0 : 1)}%`;
    bar.fill.style.width = `${(p * 100).toFixed(2)}%`;
    bar.value.textContent = percent;
    bar.item.dataset.probability = p.toFixed(6);
    bar.item.setAttribute("aria-label", `${digit}: ${percent}`);
    bar.item.classList.toggle("best", digit === best);
  });
  $("prediction").textContent = best >= 0 ? String(best) : "–";
  $("confidence").textContent = best >= 0
    ? `${(probabilities[best] * 100).toFixed(1)}% sure` : "draw a digit";
}

let worker = null;
let modelReady = false;
let inFlight = false;
let wanted = false;
let drawingVersion = 0;

function drawingChanged(final) {
  drawingVersion++;
  // data-version / data-settled: tests (and anyone curious) can tell when the bars are current.
  pad.dataset.version = String(drawingVersion);
  $("undo").disabled = strokes.length === 0;
  updateTeachButtons();
  if (!strokes.length) {
    showInput(null);
    showProbabilities(null);
    pad.dataset.settled = String(drawingVersion);
    return;
  }
  if (final || !inFlight) classify();
  else wanted = true;
}

// At most one request in flight; the latest drawing is sent when the previous answer lands.
async function classify() {
  if (!modelReady) { wanted = true; return; }
  if (inFlight) { wanted = true; return; }
  const image = preprocess();
  wanted = false;
  if (!image) return;
  showInput(image);
  inFlight = true;
  const version = drawingVersion;
  try {
    const result = await worker.call("predict", image, 1);
    if (strokes.length) showProbabilities(result.probabilities);
    pad.dataset.classified = String(version);
    showForward(result);
  } catch (error) {
    setStatus(`Prediction failed: ${error.message}`, "error");
  } finally {
    inFlight = false;
  }
  if (wanted || version !== drawingVersion) classify();
  else pad.dataset.settled = String(version);
}

// ----------------------------------------------------------------------------- under the hood

function showForward(result) {
  const f = result.forward || {};
  $("stat-forward").textContent =
    `${f.draws} draws · ${f.gl_calls} GL calls · ${f.programs} programs · ${f.compiles} compiles`;
  $("stat-forward-ms").textContent = `${result.ms.toFixed(2)} ms (predict call in the worker)`;
}

async function showCounters() {
  const { context } = await worker.call("counters");
  $("stat-objects").textContent = `${context.live_textures} textures · ` +
    `${context.live_framebuffers} framebuffers · ${context.programs} programs compiled`;
}

async function showSources() {
  const sources = await worker.call("sources");
  const holder = $("sources");
  holder.replaceChildren();
  for (const { layer, program, source } of sources) {
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = `${layer} — ${program} (${source.split("\n").length} lines)`;
    const pre = document.createElement("pre");
    pre.textContent = source;
    details.append(summary, pre);
    holder.append(details);
  }
}

function describeModel(info, label) {
  const layers = info.layers.map((l) => l.class_name).join(" → ");
  $("stat-model").textContent =
    `${label}: ${layers} · ${info.parameters.toLocaleString()} weights`;
}

// ----------------------------------------------------------------------------- teach

const samples = [];   // {image: Float32Array(784), label, thumb, element}
let training = false;
let canTrain = false;
let current = { name: config.default_model, version: "shipped", url: config.default_model_url };
let changedSinceLoad = false;

function updateTeachButtons() {
  const usable = modelReady && !training;
  for (const button of document.querySelectorAll(".label")) {
    button.disabled = !usable || strokes.length === 0;
  }
  $("train").disabled = !usable || samples.length === 0;
  $("reset").disabled = !usable || !changedSinceLoad;
  $("save").disabled = !usable;
  $("model-picker").disabled = !usable;
  $("samples-empty").hidden = samples.length > 0;
}

function addSample(label) {
  const image = preprocess();
  if (!image) return;
  const sample = { image, label, thumb: thumbnail(image) };
  const item = document.createElement("li");
  item.dataset.testid = "sample";
  item.dataset.label = String(label);
  const picture = document.createElement("img");
  picture.src = sample.thumb;
  picture.alt = `your ${label}`;
  const caption = document.createElement("span");
  caption.className = "caption";
  caption.textContent = String(label);
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "remove";
  remove.textContent = "×";
  remove.setAttribute("aria-label", `Remove this sample of a ${label}`);
  remove.addEventListener("click", () => {
    samples.splice(samples.indexOf(sample), 1);
    item.remove();
    updateTeachButtons();
  });
  item.append(picture, caption, remove);
  sample.element = item;
  sample.caption = caption;
  samples.push(sample);
  $("samples").append(item);
  setStatus(`Added your drawing as a ${label} (${samples.length} sample${samples.length > 1 ? "s" : ""}). Draw another, or train.`, "ready");
  clearDrawing();
}

for (const button of document.querySelectorAll(".label")) {
  button.addEventListener("click", () => addSample(Number(button.dataset.label)));
}

// How many samples the model now gets right; marks each thumbnail.
async function checkSamples() {
  if (!samples.length) return { right: 0, total: 0 };
  const images = new Float32Array(samples.length * 784);
  samples.forEach((s, i) => images.set(s.image, i * 784));
  const { probabilities } = await worker.call("predict", images, samples.length);
  let right = 0;
  samples.forEach((sample, i) => {
    const row = probabilities.slice(i * 10, i * 10 + 10);
    const guess = row.indexOf(Math.max(...row));
    right += guess === sample.label;
    sample.element.classList.toggle("right", guess === sample.label);
    sample.element.classList.toggle("wrong", guess !== sample.label);
    sample.caption.textContent = guess === sample.label ? `${sample.label} ✓` : `${sample.label} (${guess})`;
  });
  return { right, total: samples.length };
}

const losses = [];
const chart = $("loss-chart");
function drawLossChart(totalSteps) {
  const context = chart.getContext("2d");
  const { width, height } = chart;
  context.clearRect(0, 0, width, height);
  context.fillStyle = "#646a73";
  context.font = "11px system-ui, sans-serif";
  if (!losses.length) return;
  const top = Math.max(...losses) * 1.05 || 1;
  const left = 34, bottom = height - 16;
  context.fillText(top.toFixed(2), 2, 12);
  context.fillText("0", 2, bottom);
  context.fillText(`step ${losses.length}/${totalSteps}`, width - 80, height - 3);
  context.strokeStyle = "#dedad2";
  context.beginPath();
  context.moveTo(left, 4); context.lineTo(left, bottom); context.lineTo(width - 4, bottom);
  context.stroke();
  context.strokeStyle = "#2f6fdb";
  context.lineWidth = 2;
  context.beginPath();
  losses.forEach((loss, i) => {
    const x = left + (width - left - 6) * (totalSteps > 1 ? i / (totalSteps - 1) : 0);
    const y = bottom - (bottom - 6) * (loss / top);
    if (i === 0) context.moveTo(x, y); else context.lineTo(x, y);
  });
  context.stroke();
}

function trainOptions() {
  // Knobs for experiments and fast tests: ?epochs=2&copies=4&replay=200&lr=0.002
  const options = {};
  if (params.has("epochs")) options.epochs = Number(params.get("epochs"));
  if (params.has("copies")) options.copies = Number(params.get("copies"));
  if (params.has("lr")) options.learning_rate = Number(params.get("lr"));
  return options;
}

async function train() {
  if (!canTrain) {
    setStatus("Training is not available in this runtime build yet.", "error");
    return;
  }
  training = true;
  updateTeachButtons();
  $("training").hidden = false;
  losses.length = 0;
  drawLossChart(1);
  const progressBar = $("train-progress");
  progressBar.value = 0;
  $("train-result").textContent = "";
  try {
    const before = await checkSamples();
    const images = new Float32Array(samples.length * 784);
    samples.forEach((s, i) => images.set(s.image, i * 784));
    const labels = Int32Array.from(samples, (s) => s.label);
    const replayCount = params.has("replay") ? Number(params.get("replay")) : 300;
    setStatus(`Training on ${samples.length} samples + ${replayCount} MNIST images…`);
    const result = await worker.call("fit", images, labels, samples.length,
                                     { url: config.replay_url || "/api/replay", count: replayCount },
                                     trainOptions());
    changedSinceLoad = true;
    const after = await checkSamples();
    const text = `Trained ${result.steps} steps in ${(result.ms / 1000).toFixed(1)} s. ` +
      `Your samples right: ${after.right} of ${after.total} (before: ${before.right}).`;
    $("train-result").textContent = text;
    await showCounters();
    setStatus(`Ready — ${text}`, "ready");
  } catch (error) {
    setStatus(`Training failed: ${error.message}`, "error");
  } finally {
    training = false;
    updateTeachButtons();
  }
  if (strokes.length) classify();
}

function onTrainProgress({ step, total, loss, ms, draws, gl_calls: glCalls }) {
  losses.push(loss);
  $("train-progress").max = total;
  $("train-progress").value = step;
  $("stat-step").textContent = `${ms.toFixed(1)} ms · ${draws} draws · ${glCalls} GL calls ` +
    `(step ${step}/${total}, loss ${loss.toFixed(3)})`;
  requestAnimationFrame(() => drawLossChart(total));
  setStatus(`Training… step ${step} of ${total}, loss ${loss.toFixed(3)}`);
}

$("train").addEventListener("click", train);

$("reset").addEventListener("click", async () => {
  try {
    await worker.call("reset");
    changedSinceLoad = false;
    updateTeachButtons();
    const check = await checkSamples();
    setStatus(`Ready — model reset to the loaded weights` +
              (check.total ? ` (your samples right: ${check.right} of ${check.total})` : ""), "ready");
    if (strokes.length) classify();
  } catch (error) {
    setStatus(`Reset failed: ${error.message}`, "error");
  }
});

// ----------------------------------------------------------------------------- save, pick

const NAME_RULE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

$("save-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("save-name").value.trim();
  if (!NAME_RULE.test(name)) {
    setStatus("Name: 1 to 64 characters, lowercase letters, digits, '_' or '-', starting with a letter or digit.", "error");
    $("save-name").focus();
    return;
  }
  $("save").disabled = true;
  try {
    setStatus(`Saving as ${name}…`);
    const exported = await worker.call("export");
    const form = new FormData();
    form.append("model_json", new Blob([exported.model_json], { type: "application/json" }), "model.json");
    for (const [file, data] of Object.entries(exported.shards)) {
      form.append("shards", new Blob([data], { type: "application/octet-stream" }), file);
    }
    form.append("base", current.name);
    const response = await fetch(`${config.models_api_url}/${encodeURIComponent(name)}/versions`,
                                 { method: "POST", body: form });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.detail || `HTTP ${response.status}`);
    // The worker still holds the weights it loaded, so Reset keeps returning to those.
    current = { name: body.name, version: body.version, url: body.model_json_url };
    await refreshPicker();
    setStatus(`Ready — saved as ${body.name} ${body.version}.`, "ready");
  } catch (error) {
    setStatus(`Save failed: ${error.message}`, "error");
  } finally {
    updateTeachButtons();
  }
});

async function refreshPicker() {
  const picker = $("model-picker");
  const response = await fetch(config.models_api_url);
  if (!response.ok) throw new Error(`listing models: HTTP ${response.status}`);
  const models = await response.json();
  picker.replaceChildren();
  for (const model of models) {
    for (const version of model.versions) {
      const option = document.createElement("option");
      option.value = version.model_json_url;
      option.textContent = version.read_only ? `${model.name} (shipped)`
        : `${model.name} ${version.version} · ${new Date(version.created).toLocaleString()}`;
      option.dataset.name = model.name;
      option.dataset.version = version.version;
      picker.append(option);
    }
  }
  picker.value = current.url || "";
}

$("model-picker").addEventListener("change", async () => {
  const option = $("model-picker").selectedOptions[0];
  if (!option) return;
  const label = `${option.dataset.name} ${option.dataset.version}`;
  modelReady = false;
  updateTeachButtons();
  setStatus(`Loading ${label}…`);
  try {
    const info = await worker.call("load", option.value);
    current = { name: option.dataset.name, version: option.dataset.version, url: option.value };
    changedSinceLoad = false;
    canTrain = info.training;
    describeModel(info, label);
    modelReady = true;
    setStatus(`Ready — ${label} loaded.`, "ready");
    await Promise.all([showSources(), showCounters()]);
    if (strokes.length) classify();
  } catch (error) {
    modelReady = true;  // the previous model is still loaded and usable
    $("model-picker").value = current.url || "";
    setStatus(`Could not load ${label}: ${error.message}`, "error");
  } finally {
    updateTeachButtons();
  }
});

// ----------------------------------------------------------------------------- start

function webgl2Problem() {
  if (typeof Worker === "undefined" || typeof OffscreenCanvas === "undefined") {
    return "This browser cannot run the model: it lacks Web Workers or OffscreenCanvas. Try a current Chrome, Edge, Firefox or Safari.";
  }
  const gl = document.createElement("canvas").getContext("webgl2");
  if (!gl) {
    return "WebGL2 is not available in this browser, so the network cannot run on the GPU. Turn on hardware acceleration or try another browser.";
  }
  const floatTargets = gl.getExtension("EXT_color_buffer_float");
  gl.getExtension("WEBGL_lose_context")?.loseContext();
  if (!floatTargets) {
    return "This GPU or browser cannot render into float textures (EXT_color_buffer_float), which the network needs. Try another browser or device.";
  }
  return null;
}

// Start-up stages in ms from navigation (bench/browser.py's startup section reads them).
function startupStages(workerCreated, result) {
  const init = result.started_at - performance.timeOrigin;
  const stages = { worker: workerCreated, init };
  for (const [stage, ms] of Object.entries(result.timings)) stages[stage] = init + ms;
  return { ...stages, ready: performance.now() };
}

function showStartup(readySeconds, t, warmupMs) {
  const s = (ms) => (ms / 1000).toFixed(2);
  $("stat-startup").textContent = `${readySeconds} s to Ready: Pyodide ${s(t.pyodide)} s · ` +
    `runtime ${s(t.runtime - t.pyodide)} s (wheel ${s(t.wheel - t.pyodide)}, import ` +
    `${s(t.import - t.wheel)}, GL context ${s(t.runtime - t.import)})` +
    (t.model === undefined ? "" : ` · model ${s(t.model - t.runtime)} s`) +
    (warmupMs === undefined ? "" : ` · then shader warm-up ${s(warmupMs)} s`);
}

// The worker (Pyodide, the runtime wheel, the model) starts before anything else on the
// page: Pyodide's own start-up is most of the time to "Ready".
function startWorker() {
  worker = new ModelWorker(new URL("worker.js", new URL(config.static_url, location.href)));
  worker.listeners.progress = ({ message }) => setStatus(message);
  worker.listeners.train = onTrainProgress;
  const init = worker.call("init", config);
  init.catch(() => {});  // awaited in start()
  return init;
}

async function start() {
  const started = performance.now();
  const canStart = typeof Worker !== "undefined" && typeof OffscreenCanvas !== "undefined";
  const init = canStart ? startWorker() : null;
  buildBars();
  showProbabilities(null);
  showInput(null);
  fitPadResolution();
  new ResizeObserver(fitPadResolution).observe(pad);
  updateTeachButtons();
  const problem = webgl2Problem();
  if (problem) {
    worker?.terminate();
    setStatus(problem, "error");
    showBanner(problem);
    return;
  }
  let startup = null;  // [seconds to Ready, stage timings] once init has answered
  worker.listeners.warmup = ({ ms, at }) => {
    if (window.shadernetStartup) window.shadernetStartup.warmup = at - performance.timeOrigin;
    if (startup) showStartup(...startup, ms);
  };
  try {
    const result = await init;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    startup = [seconds, result.timings];
    showStartup(seconds, result.timings);
    if (!result.model) {
      setStatus(`No model to load: export one to models/${config.default_model}/ on the server.`, "error");
      showBanner("The server has no default model yet. Train and export one (see the README), then reload.");
      return;
    }
    canTrain = result.model.training;
    document.body.dataset.training = String(canTrain);
    describeModel(result.model, `${config.default_model} (shipped)`);
    modelReady = true;
    window.shadernetReadyMs = performance.now() - started;
    window.shadernetStartup = startupStages(started, result);
    setStatus(`Ready — draw a digit (${seconds} s).`, "ready");
    if (!canTrain) $("train").title = "Training is not available in this runtime build yet.";
    updateTeachButtons();
    if (wanted || strokes.length) classify();
    await Promise.all([showSources(), showCounters(), refreshPicker()]);
  } catch (error) {
    const message = `Could not start: ${error.message}`;
    setStatus(message, "error");
    if (/WebGL2|EXT_color_buffer_float/.test(error.message)) showBanner(message);
  }
}

start();
window.addEventListener("load", () => navigator.serviceWorker?.register("/sw.js").catch(() => {}));
