"""A lost WebGL context through the public module (static/shadernet.mjs), on the examples/
page served by a plain static server: WEBGL_lose_context's loseContext() in the worker
(`forceContextLoss`) makes the pending fit and every later call reject with
`ContextLostError` (code "context-lost"); once restored (`forceContextRestore`) the old
model is refused as lost and a newly loaded one predicts like numpy."""

from __future__ import annotations

import numpy as np
import pytest

from model_export.exported import load_exported
from tests.api.test_public_module import MODULE, build_wheel, open_example, stroke_one

pytestmark = pytest.mark.browser

_LOSE_AND_RESTORE = f"""async () => {{
    const shadernet = await import("{MODULE}");
    const events = [];
    addEventListener("shadernet-context", (event) => events.push(event.detail.state));
    const outcome = async (promise) => {{
        try {{ await promise; return null; }} catch (error) {{
            return {{ name: error.name, code: error.code, message: error.message,
                     lostClass: error instanceof shadernet.ContextLostError }};
        }}
    }};
    const model = window.model;
    let steps = 0;
    const fitting = model.fit(new Float32Array(64 * 784), new Array(64).fill(1), 64,
        {{ epochs: 100, batchSize: 32, onProgress: () => {{ steps++; }} }});
    while (steps < 1) await new Promise((resolve) => setTimeout(resolve, 10));
    await shadernet.forceContextLoss();
    const fit = await outcome(fitting);
    const stepsWhenRejected = steps;
    const later = await outcome(model.predict(new Float32Array(784), 1));
    const load = await outcome(shadernet.loadModel("../models/default/model.json"));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stepsAfter = steps;
    await shadernet.forceContextRestore();
    const old = await outcome(model.predict(new Float32Array(784), 1));
    const fresh = await shadernet.loadModel("../models/default/model.json");
    const image = new Float32Array(784);
    for (let row = 4; row < 24; row++) image[row * 28 + 13] = image[row * 28 + 14] = 1;
    const probabilities = Array.from(await fresh.predict(image, 1));
    return {{ fit, later, load, old, probabilities, events, stepsWhenRejected, stepsAfter }};
}}"""


def test_a_lost_context_rejects_pending_and_later_calls_and_a_restored_one_loads_again(
        browser, static_server, repo_root):
    build_wheel()
    context, page = open_example(browser, static_server)
    try:
        assert page.inner_text("#out").startswith("Predicted digit")
        result = page.evaluate(_LOSE_AND_RESTORE)
    finally:
        context.close()
    for key in ("fit", "later", "load"):
        error = result[key]
        assert error is not None, f"{key} resolved on a lost context"
        assert error["code"] == "context-lost" and error["name"] == "ContextLostError", error
        assert error["lostClass"], error
        assert error["message"].startswith("The WebGL context was lost"), error["message"]
    # The worker's training loop stopped at its next step, not after 200 of them.
    assert result["stepsAfter"] <= result["stepsWhenRejected"] + 1
    assert result["old"]["code"] == "context-lost"
    assert "model 1 was lost with the WebGL context" in result["old"]["message"]
    assert result["events"] == ["lost", "restored"]
    expected = load_exported(repo_root / "models" / "default").predict(stroke_one())[0]
    assert np.abs(np.array(result["probabilities"]) - expected).max() < 1e-4
