"""The served snapshot: a first visit (a fresh profile) restores the snapshot made at set-up
by the page in another browser profile (server/snapshot_maker.py) and predicts exactly
what a normal start predicts; a served snapshot under another key, bytes that do not match
its digest, or one that does not arrive, each mean a normal start and nothing else.

The snapshot is made once for the module against one server; the visits go to other
servers on the same folders (other origins, as a deployment's visitors are).
"""

from __future__ import annotations

import json
import shutil

import pytest

from server.main import create_app
from server.settings import REPO_ROOT, Settings
from server.snapshot_checksum import lanes64
from server.snapshot_maker import make_served_snapshot
from tests.e2e.models import default_model_dir
from tests.startup.conftest import open_visit, serve
from tests.support.live_server import live_server

pytestmark = pytest.mark.browser

READINGS = [(4, "centre-large"), (9, "small-top-left")]
SNAPSHOT_URLS = "**/snapshot.bin"


# The SHA-256 of the bytes this browser keeps under `key`.
STORED_SHA256 = """async (key) => {
  const store = await import('/static/snapshot_store.js');
  return store.digestOf((await store.readSnapshot(key)).bytes);
}"""


@pytest.fixture(scope="module")
def served(browser, tmp_path_factory):
    """(site root, ServedSnapshot): the root's cache holds a snapshot the page made."""
    if not (REPO_ROOT / "node_modules" / "pyodide" / "pyodide.asm.wasm").is_file():
        pytest.fail("node_modules/ is missing: run `make setup` (npm install)")
    root = tmp_path_factory.mktemp("served")
    shutil.copytree(default_model_dir(), root / "models" / "default")
    app = create_app(Settings(models_dir=root / "models", store_dir=root / "store",
                              cache_dir=root / "cache"))
    runtime = app.state.assets.runtime
    assert runtime.bytecode.build(), "the .pyc could not be compiled"
    with live_server(app) as url:
        snapshot = make_served_snapshot(browser, url + "/", runtime)
    return root, snapshot


@pytest.fixture
def fresh(browser):
    """A new browser profile per call: nothing stored, nothing cached."""
    contexts = []

    def new():
        contexts.append(browser.new_context(viewport={"width": 1280, "height": 1000}))
        return contexts[-1]

    yield new
    for context in contexts:
        context.close()


def _requested(context) -> list[str]:
    urls: list[str] = []
    context.on("request", lambda request: urls.append(request.url))
    return urls


def test_a_fresh_profile_restores_the_served_snapshot_and_keeps_it(served, fresh):
    root, snapshot = served
    with serve(root) as url:
        # The normal start of a first visit whose download of the snapshot fails.
        failing = fresh()
        failing.route(SNAPSHOT_URLS, lambda route: route.abort())
        normal = open_visit(failing, url + "/")
        assert normal.config()["served_snapshot"]["digest"] == snapshot.digest
        assert normal.config()["served_snapshot"]["checksum"] == lanes64(snapshot.path.read_bytes())
        assert not normal.restored, normal.stages
        expected = [normal.read(digit, where) for digit, where in READINGS]
        assert [digit for digit, _ in expected] == [str(d) for d, _ in READINGS]

        profile = fresh()
        downloads = _requested(profile)
        first = open_visit(profile, url + "/")
        assert first.restored and "snapshot_fetched" in first.stages, first.stages
        # Once: by the page (preload.js), handed to the worker.
        assert len([u for u in downloads if u.endswith("/snapshot.bin")]) == 1, downloads
        assert [first.read(digit, where) for digit, where in READINGS] == expected
        # Kept as this browser's own, the same bytes under the same key.
        record = first.wait_snapshot_stored()
        assert (record["key"], record["bytes"]) == (snapshot.key, snapshot.size)
        assert record["digest"].startswith("lanes64:")  # stored with a checksum of its own
        assert first.page.evaluate(STORED_SHA256, record["key"]) == snapshot.digest
        first.page.close()
        downloads.clear()
        second = open_visit(profile, url + "/")
        assert second.restored and "snapshot_fetched" not in second.stages, second.stages
        assert not [u for u in downloads if u.endswith("/snapshot.bin")], downloads
        assert second.read(*READINGS[0]) == expected[0]


def test_served_bytes_that_do_not_match_the_digest_fall_back(served, fresh):
    root, snapshot = served
    damaged = bytearray(snapshot.path.read_bytes())
    middle = len(damaged) // 2
    for i in range(middle, middle + 64):
        damaged[i] ^= 0x5A
    with serve(root) as url:
        context = fresh()
        context.route(SNAPSHOT_URLS, lambda route: route.fulfill(
            status=200, body=bytes(damaged), content_type="application/octet-stream"))
        visit = open_visit(context, url + "/")
        assert not visit.restored, visit.stages
        assert any("served snapshot corrupt" in line for line in visit.console), visit.console
        assert visit.read(*READINGS[0])[0] == str(READINGS[0][0])
        assert "Could not" not in visit.page.get_by_test_id("status").text_content()
        # Its own, made after the normal start as on any first visit without one served.
        assert visit.wait_snapshot_stored()["key"] == snapshot.key


def test_a_served_snapshot_under_another_key_is_not_downloaded(served, fresh):
    root, snapshot = served
    meta_path = next((root / "cache" / "snapshot").glob("*.json"))
    meta = json.loads(meta_path.read_text())
    other = meta["key"].replace("|jspi=", "|jspi=other-", 1)
    meta_path.write_text(json.dumps({**meta, "key": other}))
    try:
        with serve(root) as url:
            context = fresh()
            requests = _requested(context)
            visit = open_visit(context, url + "/")
            assert visit.config()["served_snapshot"]["key"] == other
            assert not visit.restored, visit.stages
            assert not [u for u in requests if u.endswith("/snapshot.bin")], requests
            assert visit.read(*READINGS[1])[0] == str(READINGS[1][0])
    finally:
        meta_path.write_text(json.dumps(meta))



def test_a_served_record_without_a_checksum_is_checked_by_its_sha256(served, fresh):
    """A snapshot kept before records had a checksum: the page checks the SHA-256."""
    root, snapshot = served
    meta_path = next((root / "cache" / "snapshot").glob("*.json"))
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({k: v for k, v in meta.items() if k != "checksum"}))
    try:
        with serve(root) as url:
            visit = open_visit(fresh(), url + "/")
            assert "checksum" not in visit.config()["served_snapshot"]
            assert visit.restored and "snapshot_fetched" in visit.stages, visit.stages
            assert visit.read(*READINGS[0])[0] == str(READINGS[0][0])
    finally:
        meta_path.write_text(json.dumps(meta))
