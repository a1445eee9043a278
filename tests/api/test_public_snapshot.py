"""Memory snapshots for a page that is not ours: a bare page on a plain static server (its
own origin) imports /static/shadernet.mjs from our server (started with that origin in
--cors-origin) and calls only `loadModel(url)`. With no option the module takes the
server's start-up key and served snapshot from GET /api/runtime: a first visit restores
the server's snapshot when there is one (downloaded with CORS) and boots Python when there
is none, the snapshot is kept in the page's own origin (OPFS), and the next visit restores
it; each predicts exactly what a normal start predicts. `snapshotKey: null` stores
nothing and downloads nothing. What happened is read from what the module tells
(`startRuntime()`: snapshot, timings, snapshotKey, snapshotStored) and from the browser's
own storage of the page's origin.
"""

from __future__ import annotations

import httpx
import pytest

from model_export.data import load_split
from server.snapshot_maker import make_served_snapshot
from tests.api.test_public_module import _DECODE, LOAD_TIMEOUT_MS, b64
from tests.support.live_server import app_serving, live_server
from tests.support.refused_shaders import refuse_shader_links

pytestmark = pytest.mark.browser

BARE = "tests/api/bare.html"
IMAGES = 8
MODEL = "/api/models/default/versions/shipped/model.json"

# The page's one call is loadModel; startRuntime() then answers the same start's facts.
_VISIT = f"""async ([server, options, images, n]) => {{ {_DECODE}
    const {{ loadModel, startRuntime }} = await import(`${{server}}/static/shadernet.mjs`);
    const url = `${{server}}{MODEL}`;
    const model = await (options ? loadModel(url, options) : loadModel(url));
    const probabilities = Array.from(await model.predict(floats(images), n));
    const runtime = await startRuntime();
    await runtime.warmedUp;
    return {{ probabilities, snapshot: runtime.snapshot, timings: runtime.timings,
             snapshotKey: runtime.snapshotKey,
             stored: await runtime.snapshotStored }};
}}"""

# What the page's origin keeps: OPFS entries (name -> size, one folder deep) and the
# IndexedDB databases, as the browser itself lists them.
_ORIGIN_STORAGE = """async () => {
    const files = {};
    const root = await navigator.storage.getDirectory();
    for await (const [name, handle] of root.entries()) {
        if (handle.kind === "file") { files[name] = (await handle.getFile()).size; continue; }
        files[name + "/"] = 0;
        for await (const [inner, file] of handle.entries()) {
            files[`${name}/${inner}`] = file.kind === "file" ? (await file.getFile()).size : 0;
        }
    }
    const databases = ((await indexedDB.databases?.()) || []).map((db) => db.name);
    return { files, databases };
}"""


def _server(root, static_server, repo_root):
    app = app_serving(repo_root / "models" / "default", root, cors_origins=(static_server.url,))
    runtime = app.state.assets.runtime
    # Compiled now, so the start-up key cannot change between two visits of a test.
    assert runtime.bytecode.build(), "the .pyc could not be compiled"
    return app, runtime


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory, static_server, repo_root):
    """Our server with no served snapshot (set-up made none)."""
    app, _ = _server(tmp_path_factory.mktemp("no-snapshot"), static_server, repo_root)
    with live_server(app) as url:
        yield url


@pytest.fixture(scope="module")
def snapshot_server(tmp_path_factory, static_server, repo_root, browser):
    """(URL, ServedSnapshot): our server offering the snapshot its drawing page made, as
    `make snapshot` does at set-up."""
    app, runtime = _server(tmp_path_factory.mktemp("with-snapshot"), static_server, repo_root)
    with live_server(app) as url:
        yield url, make_served_snapshot(browser, url + "/", runtime)


@pytest.fixture(scope="module")
def images():
    return b64(load_split("test").x[:IMAGES])


class Profile:
    """One browser profile (context) visiting the bare page; requests and console kept."""

    def __init__(self, browser, static_server):
        self.context = browser.new_context()
        self.static_server = static_server
        self.requests: list[str] = []
        self.console: list[str] = []
        self.context.on("request", lambda request: self.requests.append(request.url))

    def open(self):
        page = self.context.new_page()
        page.set_default_timeout(LOAD_TIMEOUT_MS)
        page.on("console", lambda m: self.console.append(f"[{m.type}] {m.text}"))
        page.goto(f"{self.static_server.url}/{BARE}")
        return page

    def visit(self, server: str, images: str, options: dict | None = None, page=None) -> dict:
        page = page or self.open()
        try:
            return page.evaluate(_VISIT, [server, options, images, IMAGES])
        except Exception as error:
            raise AssertionError(f"{error}\n" + "\n".join(self.console[-30:])) from None

    def storage(self) -> dict:
        page = self.open()
        try:
            return page.evaluate(_ORIGIN_STORAGE)
        finally:
            page.close()

    def snapshot_downloads(self) -> list[str]:
        return [url for url in self.requests if url.endswith("/snapshot.bin")]


@pytest.fixture
def profiles(browser, static_server):
    made: list[Profile] = []

    def new() -> Profile:
        made.append(Profile(browser, static_server))
        return made[-1]

    yield new
    for profile in made:
        profile.context.close()


def _kept_file(storage: dict) -> int:
    """The size of the snapshot file kept in the page's origin (OPFS), 0 if none."""
    return storage["files"].get("shadernet-startup/snapshot.bin", 0)


def test_a_bare_page_keeps_its_own_snapshot_and_restores_it_next_visit(
        plain_server, profiles, images):
    runtime = httpx.get(f"{plain_server}/api/runtime").json()
    assert runtime["served_snapshot"] is None
    profile = profiles()
    first = profile.visit(plain_server, images)
    assert first["snapshotKey"] == runtime["startup_key"]
    assert "restore" not in first["timings"], first
    assert first["snapshot"] == "none stored; none served", first["snapshot"]
    stored = first["stored"]
    assert stored["stored"] and stored["error"] is None and stored["bytes"] > 10_000_000, stored
    # Kept by the importing page's origin, not the server's.
    assert _kept_file(profile.storage()) > stored["bytes"], profile.storage()

    second = profile.visit(plain_server, images)
    assert second["snapshot"] == "restored" and "restore" in second["timings"], second
    assert second["stored"] is None  # nothing new to keep
    assert second["probabilities"] == first["probabilities"]
    assert not profile.snapshot_downloads(), profile.requests


def test_a_first_visit_restores_the_servers_snapshot_across_origins(
        snapshot_server, profiles, images):
    server, served = snapshot_server
    runtime = httpx.get(f"{server}/api/runtime").json()
    assert runtime["served_snapshot"] == {**served.config()}
    # A normal start for comparison: the served snapshot refused by option.
    normal = profiles().visit(server, images, {"servedSnapshot": None})
    assert normal["snapshot"] == "none stored; none served" and "restore" not in normal["timings"]

    profile = profiles()
    first = profile.visit(server, images)
    assert first["snapshot"] == "restored (served)", (first["snapshot"], profile.console[-20:])
    assert {"restore", "snapshot_fetched"} <= set(first["timings"]), first["timings"]
    # Downloaded once, from our server (another origin: with CORS), by the worker.
    assert profile.snapshot_downloads() == [server + served.url], profile.requests
    assert first["probabilities"] == normal["probabilities"]
    # Kept as this origin's own: the next visit restores it without a download.
    assert first["stored"] == {"stored": True, "bytes": served.size, "error": None}
    second = profile.visit(server, images)
    assert second["snapshot"] == "restored" and "snapshot_fetched" not in second["timings"]
    assert len(profile.snapshot_downloads()) == 1, profile.requests
    assert second["probabilities"] == normal["probabilities"]


def test_snapshot_key_null_stores_nothing_and_downloads_nothing(
        snapshot_server, profiles, images):
    server, _ = snapshot_server
    profile = profiles()
    first_page = profile.open()
    first = profile.visit(server, images, {"snapshotKey": None}, page=first_page)
    assert first["snapshot"] == "no key" and first["snapshotKey"] is None, first
    assert first["stored"] is None
    # The first visit's page stays open (its worker would have kept a snapshot after its
    # warm-up) while the second starts from scratch too.
    second = profile.visit(server, images, {"snapshotKey": None})
    assert second["snapshot"] == "no key" and "restore" not in second["timings"], second
    assert second["probabilities"] == first["probabilities"]
    first_page.close()
    assert profile.storage() == {"files": {}, "databases": []}
    assert not profile.snapshot_downloads(), profile.requests


def test_a_wrong_snapshot_option_is_refused_before_anything_starts(plain_server, profiles):
    page = profiles().open()
    refused = page.evaluate("""async (server) => {
        const { loadModel } = await import(`${server}/static/shadernet.mjs`);
        const codes = [];
        for (const options of [{ snapshotKey: "" }, { snapshotKey: 7 },
                               { servedSnapshot: { url: "/x.bin", key: "k", digest: "d" } }]) {
            await loadModel(`${server}/api/models/default/versions/shipped/model.json`, options)
                .then(() => codes.push(null), (error) => codes.push([error.code, error.message]));
        }
        return codes;
    }""", plain_server)
    assert [code for code, _ in refused] == ["argument"] * 3, refused
    assert "options.snapshotKey: expected a non-empty string" in refused[0][1]
    assert 'got ""' in refused[0][1] and "got 7" in refused[1][1]
    assert "options.servedSnapshot.bytes: expected a number" in refused[2][1]
    assert not page.workers  # nothing started


_WARM_UP_FAILS = f"""async ([server]) => {{
    const {{ loadModel, startRuntime }} = await import(`${{server}}/static/shadernet.mjs`);
    const model = await loadModel(`${{server}}{MODEL}`);
    const runtime = await startRuntime();
    // Bounded: before the fix, none of these ever settled.
    const settled = (promise) => Promise.race([promise, new Promise((resolve) =>
        setTimeout(() => resolve("never settled"), 60_000))]);
    const warm = await settled(runtime.warmedUp);
    const predicted = await settled(model.predict(new Float32Array(784), 1).then(
        () => null, (error) => ({{ code: error.code, message: error.message }})));
    return {{ warm: warm.error ? {{ ms: warm.ms, code: warm.error.code, message: warm.error.message }} : warm,
             predicted, stored: await settled(runtime.snapshotStored) }};
}}"""


def test_a_failed_warm_up_is_reported_and_the_snapshot_still_kept(plain_server, profiles):
    profile = profiles()
    refuse_shader_links(profile.context)
    page = profile.open()
    result = page.evaluate(_WARM_UP_FAILS, [plain_server])
    assert result["warm"]["ms"] is None and result["warm"]["code"] == "shader-compile", result
    # The first prediction meets the same failure and says so; it does not wait forever.
    assert result["predicted"]["code"] == "shader-compile", result
    assert result["stored"]["stored"] and result["stored"]["error"] is None, result
