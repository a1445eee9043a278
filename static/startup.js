// What the browser must offer before the model can run, and the start-up stages placed on
// the page's navigation timeline (window.shadernetStartup, read by bench/browser.py).

export function browserProblem() {
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

// Stage -> ms from navigation. `result.started_at` is the worker's start on the shared wall
// clock (performance.timeOrigin differs per thread); its timings are ms after that.
export function startupStages(workerCreated, result) {
  const init = result.started_at - performance.timeOrigin;
  const stages = { worker: workerCreated, init };
  for (const [stage, ms] of Object.entries(result.timings)) stages[stage] = init + ms;
  return { ...stages, ready: performance.now() };
}
