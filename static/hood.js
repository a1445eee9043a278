// "Under the hood": the model's layers, the GLSL each program runs, draws and GL calls per
// forward pass, GPU objects alive, the last forward and training step, the start-up stages.

const $ = (id) => document.getElementById(id);

export function showForward(result) {
  const f = result.forward || {};
  $("stat-forward").textContent =
    `${f.draws} draws · ${f.gl_calls} GL calls · ${f.programs} programs · ${f.compiles} compiles`;
  $("stat-forward-ms").textContent = `${result.ms.toFixed(2)} ms (predict call in the worker)`;
}

export function showStep({ step, total, loss, ms, draws, gl_calls: glCalls }) {
  $("stat-step").textContent = `${ms.toFixed(1)} ms · ${draws} draws · ${glCalls} GL calls ` +
    `(step ${step}/${total}, loss ${loss.toFixed(3)})`;
}

// model: a shadernet.mjs Model; its info() has the context's live GL objects and the GLSL
// of its forward pass (shown unless sources is false).
export async function showInfo(model, { sources = true } = {}) {
  const info = await model.info();
  const { context } = info;
  $("stat-objects").textContent = `${context.live_textures} textures · ` +
    `${context.live_framebuffers} framebuffers · ${context.programs} programs compiled`;
  if (sources) showSources(info.sources);
}

function showSources(sources) {
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

// info: a Model (its layers and parameter count).
export function describeModel(info, label) {
  const layers = info.layers.map((l) => l.class_name).join(" → ");
  $("stat-model").textContent =
    `${label}: ${layers} · ${info.parameters.toLocaleString()} weights`;
}

// t: the worker's stage timings (ms since it started); warmupMs once the shaders are drawn.
export function showStartup(readySeconds, t, warmupMs) {
  const s = (ms) => (ms / 1000).toFixed(2);
  $("stat-startup").textContent = `${readySeconds} s to Ready: Pyodide ${s(t.pyodide)} s · ` +
    `runtime ${s(t.runtime - t.pyodide)} s (wheel ${s(t.wheel - t.pyodide)}, import ` +
    `${s(t.import - t.wheel)}, GL context ${s(t.runtime - t.import)})` +
    (t.model === undefined ? "" : ` · model ${s(t.model - t.runtime)} s`) +
    (warmupMs === undefined ? "" : ` · then shader warm-up ${s(warmupMs)} s`);
}
