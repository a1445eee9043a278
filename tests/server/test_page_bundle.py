"""The drawing page's bundle (server/page_bundle.py), with the real esbuild: the page loads
it once it is built for today's static/ and its plain modules until then, an edit means a
new bundle, a failing esbuild leaves the plain modules. (The browser suite runs the
bundled page: `make setup` bundles static/; tests/startup/test_offline.py checks so.)"""

from __future__ import annotations

import json
import re
import shutil
import warnings

import pytest

from server.main import create_app
from server.page_bundle import ESBUILD, PageBundle, preload_list
from server.settings import REPO_ROOT, Settings
from server.static_version import StaticVersion

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

IMMUTABLE = "public, max-age=31536000, immutable"
ENTRY = re.compile(r'<script type="module" src="([^"]+)"')


@pytest.fixture
def site(tmp_path):
    if not ESBUILD.is_file():
        pytest.fail(f"{ESBUILD} is missing: run `make setup` (npm install)")
    static = tmp_path / "static"
    shutil.copytree(REPO_ROOT / "static", static)
    app = create_app(Settings(store_dir=tmp_path / "store", cache_dir=tmp_path / "cache",
                              static_dir=static, bundle_dir=tmp_path / "bundle"))
    return TestClient(app, base_url="http://localhost"), app.state.assets.bundle, static


def _page(client) -> tuple[str, list[str]]:
    html = client.get("/").text
    return ENTRY.search(html).group(1), re.findall(r'rel="modulepreload" href="([^"]+)"', html)


def test_the_page_loads_the_bundle_once_built_and_its_modules_until_then(site):
    client, bundle, static = site
    assert bundle.build()  # waits for the build the server started, or makes it
    entry, hinted = _page(client)
    assert re.fullmatch(r"/static/b/[0-9a-f]{16}-[0-9a-f]{8}/app\.js", entry), entry
    folder = entry.rsplit("/", 1)[0] + "/"
    assert entry in hinted and len(hinted) < 12  # a few files where static/ has ~24
    for url in [*hinted, folder + "worker.js"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == IMMUTABLE, url
        assert response.headers["content-type"].startswith("text/javascript"), url
    worker = client.get(folder + "worker.js").text
    assert "shareSmallModules" in worker and "import(" in worker  # the worker's modules, in one
    assert client.get(folder + "missing.js").status_code == 404
    # An edit: a new static version, whose page loads the plain modules until it is bundled.
    (static / "meter.js").write_text((static / "meter.js").read_text() + "\n// edited\n")
    plain, plain_hints = _page(client)
    assert re.fullmatch(r"/static/v/[0-9a-f]{16}/app\.js", plain), plain
    assert any(url.endswith("/page.js") for url in plain_hints)
    assert bundle.build()
    rebuilt, _ = _page(client)
    assert rebuilt.startswith("/static/b/") and rebuilt != entry


def test_the_hints_are_the_page_start_not_the_worker_nor_the_trainer(tmp_path):
    bundle = PageBundle(StaticVersion(REPO_ROOT / "static"), tmp_path)
    assert bundle.build()
    folder = tmp_path / bundle.bundle_id()
    manifest = json.loads((folder / "manifest.json").read_text())
    names = manifest["preload"]
    assert manifest["entry"] == "app.js" == names[0]
    assert all((folder / name).is_file() for name in names)
    assert any(name.startswith("page-") for name in names)  # page.js and what it imports
    assert "worker.js" not in names
    assert not any(name.startswith("shadernet_trainer") for name in names)
    assert preload_list(json.loads(json.dumps({"outputs": {
        "out/app.js": {"entryPoint": "static/app.js", "imports": [
            {"path": "out/chunk-A.js", "kind": "import-statement"},
            {"path": "out/page-B.js", "kind": "dynamic-import"}]},
        "out/chunk-A.js": {"imports": []},
        "out/page-B.js": {"entryPoint": "static/page.js", "imports": [
            {"path": "out/chunk-A.js", "kind": "import-statement"}]},
        "out/shadernet_model-C.js": {"entryPoint": "static/shadernet_model.mjs", "imports": []},
        "out/worker.js": {"entryPoint": "static/worker.js", "imports": [
            {"path": "out/chunk-A.js", "kind": "import-statement"}]},
    }}))) == ["app.js", "page-B.js", "shadernet_model-C.js", "chunk-A.js"]


def test_a_failing_esbuild_leaves_the_plain_modules(tmp_path, caplog):
    broken = tmp_path / "esbuild"
    broken.write_text("#!/bin/sh\n[ \"$1\" = --version ] && echo 0.0.0 && exit 0\n"
                      "echo 'bundling broke' >&2; exit 3\n")
    broken.chmod(0o755)
    bundle = PageBundle(StaticVersion(REPO_ROOT / "static"), tmp_path / "bundle", esbuild=broken)
    assert bundle.build() is False
    assert "bundling broke" in caplog.text and "one by one" in caplog.text
    assert bundle.current() is None
    assert PageBundle(StaticVersion(REPO_ROOT / "static"), tmp_path / "b2",
                      esbuild=tmp_path / "none").current() is None


def test_a_static_folder_edited_while_it_is_bundled_keeps_no_bundle_under_the_old_version(tmp_path):
    static = tmp_path / "static"
    shutil.copytree(REPO_ROOT / "static", static)
    bundle = PageBundle(StaticVersion(static), tmp_path / "bundle")
    stale = bundle.bundle_id()
    (static / "meter.js").write_text((static / "meter.js").read_text() + "\n// edited\n")
    assert bundle.build(stale) is False  # the files bundled are no longer that version's
    assert not (tmp_path / "bundle" / stale).exists()
    assert bundle.build() and bundle.current() is not None
