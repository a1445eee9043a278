// The "Layers" panel: for the current drawing, every layer's output as the GPU computed
// it (read back by the model's `layerMaps`, shadernet.mjs): conv channels as small grey images,
// 1-D outputs (dense units, probabilities) as strips, the first conv layer's kernels.
// Each map is scaled to its own min..max (white = highest); kernels share one symmetric
// scale (mid-grey = 0) so their signs compare. Probabilities are drawn on 0..1.

const $ = (id) => document.getElementById(id);

// A width x height canvas for one channel; paint() fills it.
function channelCanvas(width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  return canvas;
}

// One channel of flat NHWC values into its canvas, in grey (scale: value -> 0..1).
function paint(canvas, values, channels, channel, scale) {
  const count = canvas.width * canvas.height;
  const pixels = new ImageData(canvas.width, canvas.height);
  const level = scale || rangeScale(values, channels, channel, count);
  for (let i = 0; i < count; i++) {
    const v = Math.round(255 * Math.min(1, Math.max(0, level(values[i * channels + channel]))));
    pixels.data[4 * i] = pixels.data[4 * i + 1] = pixels.data[4 * i + 2] = v;
    pixels.data[4 * i + 3] = 255;
  }
  canvas.getContext("2d").putImageData(pixels, 0, 0);
}

// v -> 0..1 over this channel's own range; a constant channel is black.
function rangeScale(values, channels, channel, count) {
  let low = Infinity;
  let high = -Infinity;
  for (let i = 0; i < count; i++) {
    const v = values[i * channels + channel];
    if (v < low) low = v;
    if (v > high) high = v;
  }
  const span = high - low;
  return span > 0 ? (v) => (v - low) / span : () => 0;
}

function symmetricScale(values) {
  const reach = Math.max(...values.map(Math.abs)) || 1;
  return (v) => 0.5 + v / (2 * reach);
}

function label(layer) {
  const shape = layer.shape.join("×");
  const kind = layer.activation && layer.activation !== "linear"
    ? `${layer.class_name} (${layer.activation})` : layer.class_name;
  const params = layer.parameters ? `${layer.parameters.toLocaleString()} parameters` : "no parameters";
  return `${layer.name} · ${kind} · ${shape} · ${params}`;
}

// A link that opens this layer's program in "Under the hood" (hood.js names each by layer).
function glslLink(name) {
  const link = document.createElement("a");
  link.href = "#hood";
  link.textContent = "GLSL";
  link.addEventListener("click", (event) => {
    const program = [...document.querySelectorAll("#sources details")]
      .find((details) => details.querySelector("summary").textContent.startsWith(`${name} —`));
    if (!program) return;  // no shader listed (yet): the plain anchor still opens the hood
    event.preventDefault();
    $("hood").open = true;
    program.open = true;
    program.scrollIntoView({ block: "start" });
  });
  return link;
}

// time: an element the painters keep up to date (a layer's draw time in ms), or null.
function section(title, name, canvases, kind, time = null) {
  const box = document.createElement("section");
  box.className = `layer ${kind}`;
  box.dataset.testid = "layer";
  if (name) box.dataset.layer = name;
  const heading = document.createElement("h3");
  heading.textContent = title;
  if (time) heading.append(" · ", time);
  if (name) heading.append(" · ", glslLink(name));
  const maps = document.createElement("div");
  maps.className = "maps";
  maps.append(...canvases);
  box.append(heading, maps);
  return box;
}

// Where each part of a `layers` answer is drawn: pick(result) -> {values, shape}.
const pickInput = (result) => result.input;
const pickLayer = (index) => (result) => result.layers[index];

// One canvas per channel of an (h, w, c) output (a flat one is shown as 28x28x1).
function mapsOf(shape, name, pick, painters) {
  const [height, width, channels] = shape.length === 3 ? shape : [28, 28, 1];
  return Array.from({ length: channels }, (_, channel) => {
    const canvas = channelCanvas(width, height);
    canvas.dataset.testid = "layer-map";
    canvas.dataset.layer = name;
    canvas.dataset.channel = String(channel);
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `${name}, channel ${channel + 1} of ${channels}`);
    painters.push((result) => paint(canvas, pick(result).values, channels, channel));
    return canvas;
  });
}

// Digits 0..9 under a 10-wide output strip, one per cell.
function digitRow(count) {
  const row = document.createElement("div");
  row.className = "strip-labels";
  row.style.setProperty("--cells", String(count));
  for (let d = 0; d < count; d++) {
    const cell = document.createElement("span");
    cell.textContent = String(d);
    row.append(cell);
  }
  return row;
}

function stripOf(units, name, isOutput, pick, painters) {
  const scale = isOutput ? (v) => v : undefined;
  const canvas = channelCanvas(units, 1);
  canvas.className = "strip";
  canvas.dataset.testid = "layer-strip";
  canvas.dataset.layer = name;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", `${name}: ${units} ${isOutput ? "probabilities" : "units"}`);
  painters.push((result) => paint(canvas, pick(result).values, 1, 0, scale));
  return canvas;
}

// Kernel o of input channel 0 is values[(y*kw + x)*inputs*outputs + o]: one "map" per o.
function firstInputKernels({ shape, values }) {
  const [kh, kw, inputs, outputs] = shape;
  const picked = [];
  for (let i = 0; i < kh * kw; i++) {
    for (let o = 0; o < outputs; o++) picked.push(values[i * inputs * outputs + o]);
  }
  return picked;
}

function kernelsOf({ layer, shape }, painters) {
  const [kh, kw, inputs, outputs] = shape;
  const canvases = Array.from({ length: outputs }, (_, o) => {
    const canvas = channelCanvas(kw, kh);
    canvas.className = "kernel";
    canvas.dataset.testid = "layer-kernel";
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `${layer} kernel ${o + 1} of ${outputs}`);
    return canvas;
  });
  painters.push((result) => {
    const values = firstInputKernels(result.kernels);
    const scale = symmetricScale(values);
    canvases.forEach((canvas, o) => paint(canvas, values, outputs, o, scale));
  });
  const note = inputs > 1 ? ` (input channel 1 of ${inputs})` : "";
  return section(`${layer} kernels · ${kh}×${kw}×${inputs}×${outputs}${note}`, null, canvases, "kernels");
}

// The panel's sections for answers shaped like `result`, and what repaints them.
function build(result) {
  const { input, layers, kernels } = result;
  const painters = [];
  const shown = [section(`input · ${input.shape.join("×")}`, null,
                         mapsOf(input.shape, "input", pickInput, painters), "maps-layer")];
  if (kernels) shown.push(kernelsOf(kernels, painters));
  layers.forEach((layer, index) => {
    const isOutput = index === layers.length - 1;
    const pick = pickLayer(index);
    const isMap = layer.shape.length === 3;
    const canvases = isMap ? mapsOf(layer.shape, layer.name, pick, painters)
      : [stripOf(layer.shape[0], layer.name, isOutput, pick, painters)];
    if (isOutput && !isMap && layer.shape[0] === 10) canvases.push(digitRow(10));
    const time = document.createElement("span");
    time.className = "ms";
    time.title = "this layer's draws, up to the GPU finishing them (in the worker)";
    painters.push((answer) => { time.textContent = `${answer.layers[index].ms.toFixed(2)} ms`; });
    shown.push(section(label(layer), layer.name, canvases, isMap ? "maps-layer" : "strip-layer", time));
  });
  return { shown, painters };
}

// Same layers, same shapes, same labels: the canvases can be repainted in place.
const layoutOf = ({ input, layers, kernels }) => JSON.stringify(
  [input.shape, kernels && [kernels.layer, kernels.shape],
   layers.map(({ name, class_name: c, activation, shape, parameters }) => [name, c, activation, shape, parameters])]);

export class LayersView {
  constructor(panel, holder, onOpen) {
    this.panel = panel;
    this.holder = holder;
    this.layout = null;
    this.painters = [];
    panel.addEventListener("toggle", () => { if (panel.open) onOpen(); });
  }

  get open() { return this.panel.open; }

  // result: Model.layerMaps's answer, or null for an empty pad. Sections are built
  // once per model layout; every refresh after that only repaints their canvases.
  show(result) {
    window.shadernetLayers = result;  // what the page's tests compare with numpy
    if (!result) {
      const hint = document.createElement("p");
      hint.className = "hint";
      hint.textContent = "Draw a digit to see each layer's output.";
      this.holder.replaceChildren(hint);
      this.layout = null;
      return;
    }
    const layout = layoutOf(result);
    if (layout !== this.layout) {
      const { shown, painters } = build(result);
      this.holder.replaceChildren(...shown);
      this.layout = layout;
      this.painters = painters;
    }
    for (const repaint of this.painters) repaint(result);
  }
}
