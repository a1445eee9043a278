"""The page's own files under /static/v/<version>/: immutable for today's version, the
version a digest of the files (an edit means new URLs), older versions revalidated."""

from __future__ import annotations

import re
import shutil
import warnings

import pytest

from server.main import create_app
from server.settings import REPO_ROOT, Settings
from server.static_version import StaticVersion

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture
def static_dir(tmp_path):
    """A copy of static/ that a test may edit."""
    folder = tmp_path / "static"
    shutil.copytree(REPO_ROOT / "static", folder)
    return folder


@pytest.fixture
def client(tmp_path, static_dir):
    app = create_app(Settings(store_dir=tmp_path / "store", cache_dir=tmp_path / "cache",
                              static_dir=static_dir, bundle_dir=None))  # bundled: test_page_bundle
    return TestClient(app, base_url="http://localhost")


def _static_url(client) -> str:
    found = re.search(r'<script type="module" src="(/static/v/[0-9a-f]{16}/)app\.js"',
                      client.get("/").text)
    assert found, "the page does not load app.js from a versioned URL"
    return found.group(1)


def test_the_page_loads_its_files_from_todays_version_cached_for_a_year(client, static_dir):
    base = _static_url(client)
    for name in ("app.js", "worker.js", "index.css", "shadernet.mjs"):
        response = client.get(base + name)
        assert response.status_code == 200, name
        assert response.headers["cache-control"] == IMMUTABLE, name
        assert response.content == (static_dir / name).read_bytes(), name
    html = client.get("/").text
    assert f'href="{base}index.css"' in html and f'rel="modulepreload" href="{base}page.js"' in html


def test_an_edited_file_moves_every_url_to_a_new_version(client, static_dir):
    before = _static_url(client)
    (static_dir / "meter.js").write_text((static_dir / "meter.js").read_text() + "\n// edited\n")
    after = _static_url(client)
    assert after != before
    assert client.get(after + "meter.js").text.endswith("// edited\n")
    # The old version's URL still answers (a page loaded before the edit), never immutable.
    stale = client.get(before + "meter.js")
    assert stale.status_code == 200 and stale.headers["cache-control"] == "no-cache"
    assert stale.text.endswith("// edited\n")


def test_the_version_is_the_contents_not_the_times(static_dir):
    version = StaticVersion(static_dir)
    first = version.current()
    path = static_dir / "bars.js"
    path.write_bytes(path.read_bytes())  # same bytes, new mtime
    assert StaticVersion(static_dir).current() == first == version.current()


@pytest.mark.parametrize("path, status", [
    ("missing.js", 404), ("", 404), ("../app.js", 404), ("..%2F..%2Fpyproject.toml", 404),
])
def test_what_is_not_a_page_file_is_404(client, path, status):
    base = _static_url(client)
    assert client.get(base + path).status_code == status


def test_only_get_and_head(client):
    base = _static_url(client)
    assert client.head(base + "app.js").status_code == 200
    assert client.post(base + "app.js").status_code == 405


def test_the_unversioned_files_stay_for_other_pages_and_are_revalidated(client):
    response = client.get("/static/shadernet.mjs")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-cache"
