// The "Layers" panel: for the current drawing, every layer's output as the GPU computed
// it (read back by the worker's `layers` method): conv channels as small grey images,
// 1-D outputs (dense units, probabilities) as strips, the first conv layer's kernels.
// Each map is scaled to its own min..max (white = highest); kernels share one symmetric
// scale (mid-grey = 0) so their signs compare. Probabilities are drawn on 0..1.

const $ = (id) => document.getElementById(id);

// One channel of flat NHWC values as a w x h greyscale canvas.
function mapCanvas(values, height, width, channels, channel, scale) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const pixels = new ImageData(width, height);
  const count = width * height;
  const level = scale || rangeScale(values, channels, channel, count);
  for (let i = 0; i < count; i++) {
    const v = Math.round(255 * Math.min(1, Math.max(0, level(values[i * channels + channel]))));
    pixels.data[4 * i] = pixels.data[4 * i + 1] = pixels.data[4 * i + 2] = v;
    pixels.data[4 * i + 3] = 255;
  }
  canvas.getContext("2d").putImageData(pixels, 0, 0);
  return canvas;
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

function section(title, name, canvases, kind) {
  const box = document.createElement("section");
  box.className = `layer ${kind}`;
  box.dataset.testid = "layer";
  if (name) box.dataset.layer = name;
  const heading = document.createElement("h3");
  heading.textContent = title;
  if (name) heading.append(" · ", glslLink(name));
  const maps = document.createElement("div");
  maps.className = "maps";
  maps.append(...canvases);
  box.append(heading, maps);
  return box;
}

function mapsOf(values, shape, name) {
  const [height, width, channels] = shape.length === 3 ? shape : [shape[0], shape[1] || 1, 1];
  return Array.from({ length: channels }, (_, channel) => {
    const canvas = mapCanvas(values, height, width, channels, channel);
    canvas.dataset.testid = "layer-map";
    canvas.dataset.layer = name;
    canvas.dataset.channel = String(channel);
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `${name}, channel ${channel + 1} of ${channels}`);
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

function stripOf(values, name, isOutput) {
  const scale = isOutput ? (v) => v : undefined;
  const canvas = mapCanvas(values, 1, values.length, 1, 0, scale);
  canvas.className = "strip";
  canvas.dataset.testid = "layer-strip";
  canvas.dataset.layer = name;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", `${name}: ${values.length} ${isOutput ? "probabilities" : "units"}`);
  return canvas;
}

function kernelsOf({ layer, shape, values }) {
  const [kh, kw, inputs, outputs] = shape;
  const scale = symmetricScale(values);
  // Kernel o of input channel 0 is values[(y*kw + x)*inputs*outputs + o]: one "map" per o.
  const firstInput = [];
  for (let i = 0; i < kh * kw; i++) {
    for (let o = 0; o < outputs; o++) firstInput.push(values[i * inputs * outputs + o]);
  }
  const canvases = Array.from({ length: outputs }, (_, o) => {
    const canvas = mapCanvas(firstInput, kh, kw, outputs, o, scale);
    canvas.className = "kernel";
    canvas.dataset.testid = "layer-kernel";
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `${layer} kernel ${o + 1} of ${outputs}`);
    return canvas;
  });
  const note = inputs > 1 ? ` (input channel 1 of ${inputs})` : "";
  return section(`${layer} kernels · ${kh}×${kw}×${inputs}×${outputs}${note}`, null, canvases, "kernels");
}

export class LayersView {
  constructor(panel, holder, onOpen) {
    this.panel = panel;
    this.holder = holder;
    panel.addEventListener("toggle", () => { if (panel.open) onOpen(); });
  }

  get open() { return this.panel.open; }

  // result: the worker's `layers` answer, or null for an empty pad.
  show(result) {
    window.shadernetLayers = result;  // what the page's tests compare with numpy
    if (!result) {
      const hint = document.createElement("p");
      hint.className = "hint";
      hint.textContent = "Draw a digit to see each layer's output.";
      this.holder.replaceChildren(hint);
      return;
    }
    const { input, layers, kernels } = result;
    const shown = [section(`input · ${input.shape.join("×")}`, null,
                           mapsOf(input.values, input.shape.length === 3 ? input.shape : [28, 28, 1], "input"),
                           "maps-layer")];
    if (kernels) shown.push(kernelsOf(kernels));
    layers.forEach((layer, index) => {
      const isOutput = index === layers.length - 1;
      const canvases = layer.shape.length === 3 ? mapsOf(layer.values, layer.shape, layer.name)
        : [stripOf(layer.values, layer.name, isOutput)];
      if (isOutput && layer.shape.length === 1 && layer.shape[0] === 10) canvases.push(digitRow(10));
      shown.push(section(label(layer), layer.name, canvases, layer.shape.length === 3 ? "maps-layer" : "strip-layer"));
    });
    this.holder.replaceChildren(...shown);
    this.holder.dataset.refreshMs = String(result.ms);
  }
}
