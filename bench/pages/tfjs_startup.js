// bench/pages/tfjs_startup.html's script (a file of its own: the server's CSP allows no inline script).
"use strict";
(() => {
  const params = new URLSearchParams(location.search);
  const status = document.getElementById("status");
  const stages = (window.tfjsStages = {});
  const mark = (stage) => { stages[stage] = performance.now(); };
  const fail = (error) => { status.textContent = `Could not start: ${error.message || error}`; };

  async function start() {
    mark("script");
    if (!(await tf.setBackend("webgl"))) throw new Error("TF.js got no WebGL context");
    await tf.ready();
    const model = await tf.loadLayersModel(params.get("model"));
    mark("model");
    const shape = [1, ...model.inputs[0].shape.slice(1)];
    tf.tidy(() => model.predict(tf.zeros(shape))).dataSync();  // compiles its programs
    mark("warmup");
    status.textContent = "Ready";
    await new Promise((resolve) => setTimeout(resolve, 0));  // let observers see "Ready"
    const image = new Float32Array(28 * 28);
    for (let row = 4; row < 24; row += 1) image[row * 28 + 13] = image[row * 28 + 14] = 1;
    const probabilities = tf.tidy(() => model.predict(tf.tensor(image, shape))).dataSync();
    let best = 0;
    probabilities.forEach((p, digit) => { if (p > probabilities[best]) best = digit; });
    document.getElementById("prediction").textContent = String(best);
  }

  const script = document.createElement("script");
  script.src = params.get("tfjs");
  script.onload = () => start().catch(fail);
  script.onerror = () => fail(new Error(`could not load ${script.src}`));
  document.head.append(script);
})();
