"""Starting the runtime through the public module (static/shadernet.mjs) from a bare page
on a plain static server, as the drawing page does: `onProgress` gets every start-up stage
in order with a growing fraction, Pyodide's wasm compiled by the page (`wasm`) is the only
download of it, the model given to `startRuntime` is loaded while Python boots and
`loadModel` resolves with it, `warmedUp` says when its shaders are compiled (then the
page itself loads Pyodide's runtime module, for the browser's code cache), and
`shutdown` stops the worker (pending calls reject, a later call starts a new one). And one
protocol: the worker answers exactly the methods the public module calls."""

from __future__ import annotations

import re

import pytest

from tests.api.test_public_module import LOAD_TIMEOUT_MS, RUNTIME, build_wheel
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.browser

BARE = "tests/api/bare.html"
WHEEL = RUNTIME["wheelUrl"].replace("../", "/")

_START = f"""async () => {{
    const shadernet = await import("/static/shadernet.mjs");
    const progress = [];
    const wasm = WebAssembly.compileStreaming(fetch("/node_modules/pyodide/pyodide.asm.wasm"));
    const runtime = await shadernet.startRuntime({{
        pyodideUrl: "/node_modules/pyodide/", wheelUrl: "{WHEEL}", wasm,
        model: "/models/default/model.json", onProgress: (stage) => progress.push(stage) }});
    const model = await shadernet.loadModel("/models/default/model.json");
    const warm = await runtime.warmedUp;
    const again = await shadernet.loadModel("/models/default/model.json");
    const ids = [model.id, again.id];
    const probabilities = Array.from(await model.predict(new Float32Array(784), 1));
    const pending = model.predict(new Float32Array(784), 1).then(() => null, (error) => error.message);
    shadernet.shutdown();
    const stopped = await pending;
    const afterCode = await model.predict(new Float32Array(784), 1).then(() => null, (e) => e.code);
    const restarted = await shadernet.loadModel("/models/default/model.json", {{
        pyodideUrl: "/node_modules/pyodide/", wheelUrl: "{WHEEL}" }});
    const second = Array.from(await restarted.predict(new Float32Array(784), 1));
    const pageLoads = performance.getEntriesByType("resource")
        .filter((entry) => entry.name.endsWith("/pyodide.asm.mjs")).length;
    return {{ progress, timings: runtime.timings, startedAt: runtime.startedAt, warm, ids,
             probabilities, stopped, afterCode, second, timeOrigin: performance.timeOrigin,
             pageLoads }};
}}"""

# The worker's METHODS, as its answer to an unknown method names them.
_WORKER_METHODS = """async () => {
    const worker = new Worker("/static/worker.js", { type: "module" });
    const reply = await new Promise((resolve) => {
        worker.onmessage = (event) => resolve(event.data);
        worker.postMessage({ id: 1, method: "no_such_method", args: [] });
    });
    worker.terminate();
    return reply;
}"""


def open_bare(browser, static_server):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(LOAD_TIMEOUT_MS)
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page.goto(f"{static_server.url}/{BARE}")
    return context, page, requests


def test_start_up_reports_its_stages_takes_the_pages_wasm_and_the_model_it_fetched(
        browser, static_server):
    build_wheel()
    context, page, requests = open_bare(browser, static_server)
    try:
        result = page.evaluate(_START)
    finally:
        context.close()
    stages = [p["stage"] for p in result["progress"]]
    assert stages == ["download", "python", "runtime", "model", "warmup"], stages
    fractions = [p["fraction"] for p in result["progress"]]
    assert fractions == sorted(set(fractions)) and 0 <= fractions[0] and fractions[-1] < 1
    assert all(p["message"] for p in result["progress"])
    timings = result["timings"]
    assert 0 < timings["pyodide"] < timings["runtime"] < timings["model"], timings
    assert result["startedAt"] > result["timeOrigin"]
    assert result["warm"]["ms"] > 0 and result["warm"]["at"] > result["startedAt"]
    # The start-up model is the first loadModel's; a second load of the URL is a new model.
    assert result["ids"][1] == result["ids"][0] + 1
    # Each start fetches the wasm once, for one compile (the page's, handed over; after the
    # restart without `wasm`, the worker's own): Pyodide's own request is answered from
    # that compile, not read again. Without the handoff the first start would fetch it twice.
    assert sum(url.endswith("/pyodide.asm.wasm") for url in requests) == 1 + 1, requests
    # The stdlib zip likewise: the worker asks for it at its start, and Pyodide's own
    # request is given that response.
    assert sum(url.endswith("/python_stdlib.zip") for url in requests) == 1 + 1, requests
    # model.json: the start-up download, the second loadModel, the restart's download.
    assert sum(url.endswith("/models/default/model.json") for url in requests) == 3
    # After the warm-up the page's own thread loads Pyodide's runtime module once (a second
    # load of it, so the browser keeps its compiled code for the next visit's worker); the
    # restart's warm-up finds it imported already.
    assert result["pageLoads"] == 1, result["pageLoads"]
    assert "shut down" in result["stopped"] and result["afterCode"] == "runtime"
    assert result["second"] == pytest.approx(result["probabilities"], abs=1e-6)


def module_calls() -> set[str]:
    """Every worker method the public module's files send (call / stream / #call)."""
    names: set[str] = set()
    for path in (REPO_ROOT / "static").glob("shadernet*.mjs"):
        names.update(re.findall(r"(?:call|stream)\(\s*\"(\w+)\"", path.read_text()))
    return names


def test_the_worker_answers_exactly_the_public_modules_methods(browser, static_server):
    context, page, _ = open_bare(browser, static_server)
    try:
        reply = page.evaluate(_WORKER_METHODS)
    finally:
        context.close()
    assert reply["code"] == "argument" and "unknown method no_such_method" in reply["error"]
    known = set(re.search(r"\(known: ([^)]*)\)", reply["error"]).group(1).split(", "))
    assert known == module_calls()
    assert not (REPO_ROOT / "static" / "worker_client.js").exists()
    # Only the public module starts a worker of ours; the page's modules import it.
    starters = [path.name for path in (REPO_ROOT / "static").glob("*.*js")
                if "new Worker(" in path.read_text()]
    assert starters == ["shadernet.mjs"], starters


def test_a_first_model_that_fails_leaves_the_runtime_up_for_the_next(browser, static_server):
    build_wheel()
    context, page, _ = open_bare(browser, static_server)
    try:
        result = page.evaluate(f"""async () => {{
            const {{ loadModel }} = await import("/static/shadernet.mjs");
            const options = {{ pyodideUrl: "/node_modules/pyodide/", wheelUrl: "{WHEEL}" }};
            const failed = await loadModel("/models/nowhere/model.json", options).then(
                () => null, (error) => ({{ name: error.name, code: error.code, message: error.message }}));
            const model = await loadModel("/models/default/model.json");
            return {{ failed, n: (await model.predict(new Float32Array(784), 1)).length }};
        }}""")
        workers = len(page.workers)
    finally:
        context.close()
    assert result["failed"]["code"] == "fetch" and result["failed"]["name"] == "FetchError"
    assert "HTTP 404" in result["failed"]["message"] and "nowhere/model.json" in result["failed"]["message"]
    assert result["n"] == 10 and workers == 1


# A worker named as the public module names it starts at once; init, sent later with the
# same config, answers that start. Named otherwise (a malformed config), it starts at init.
_NAMED_WORKER = f"""async ([name]) => {{
    const {{ initConfig }} = await import("/static/shadernet_startup.mjs");
    const config = initConfig({{ pyodideUrl: "/node_modules/pyodide/", wheelUrl: "{WHEEL}" }},
                              {{ model: "/models/default/model.json" }});
    const worker = new Worker("/static/worker.js", {{
        type: "module", name: name === null ? `shadernet-init:${{JSON.stringify(config)}}` : name }});
    const stages = [];
    const reply = new Promise((resolve) => {{
        worker.onmessage = (event) => {{
            if (event.data.type === "progress") stages.push(event.data.stage);
            if (event.data.id === 1) resolve(event.data);
        }};
    }});
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const stagesBeforeInit = [...stages];
    const initSentAt = performance.timeOrigin + performance.now();
    worker.postMessage({{ id: 1, method: "init", args: [config] }});
    const answer = await reply;
    worker.terminate();
    return {{ stagesBeforeInit, initSentAt, startedAt: answer.result.started_at,
             model: Boolean(answer.result.model), error: answer.error || null }};
}}"""


@pytest.mark.parametrize("name", [None, "shadernet-init:{not json"])
def test_a_worker_named_with_its_config_starts_before_init_arrives(browser, static_server, name):
    build_wheel()
    context, page, _ = open_bare(browser, static_server)
    try:
        result = page.evaluate(_NAMED_WORKER, [name])
    finally:
        context.close()
    assert result["error"] is None and result["model"], result
    if name is None:
        assert "download" in result["stagesBeforeInit"], result
        assert result["startedAt"] < result["initSentAt"], result
    else:
        assert result["stagesBeforeInit"] == [], result
        assert result["startedAt"] > result["initSentAt"], result
