"""GET /api/mnist: the four MNIST arrays in bulk, gzip, at immutable content-addressed URLs."""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest

from model_export.data import FILES, cache_dir, load_idx
from server.routes.replay import get_mnist_dir
from tests.server.conftest import json_detail

KEYS = ("train_images", "train_labels", "test_images", "test_labels")


@pytest.fixture
def mnist_dir(app):
    """Point the routes at a folder of our choosing for one test."""
    chosen = {}
    app.dependency_overrides[get_mnist_dir] = lambda: chosen["dir"]
    yield chosen
    app.dependency_overrides.pop(get_mnist_dir, None)


@pytest.fixture
def real_mnist(mnist_dir):
    missing = [spec.name for spec in FILES.values() if not (cache_dir() / spec.name).is_file()]
    if missing:
        pytest.fail(f"MNIST cache {cache_dir()} lacks {missing}: run `shadernet data`")
    mnist_dir["dir"] = cache_dir()


def test_listing_names_four_content_addressed_files(client, real_mnist):
    response = client.get("/api/mnist")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
    files = response.json()["files"]
    assert sorted(files) == sorted(KEYS)
    assert [files[k]["count"] for k in KEYS] == [60000, 60000, 10000, 10000]
    assert [files[k]["item_bytes"] for k in KEYS] == [784, 1, 784, 1]
    for entry in files.values():
        assert entry["url"] == f"/api/mnist/{entry['sha256']}/{entry['url'].rsplit('/', 1)[1]}"
        assert entry["compressed_bytes"] < entry["bytes"]


def test_each_file_is_the_verified_array_gzipped_and_immutable(client, real_mnist):
    files = client.get("/api/mnist").json()["files"]
    for key in KEYS:
        response = client.get(files[key]["url"])
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/gzip"
        assert "immutable" in response.headers["cache-control"]
        assert "max-age=31536000" in response.headers["cache-control"]
        assert hashlib.sha256(response.content).hexdigest() == files[key]["sha256"]
        expected = load_idx(FILES[key], cache_dir())
        decoded = np.frombuffer(gzip.decompress(response.content), dtype=np.uint8)
        assert decoded.size == files[key]["bytes"]
        assert np.array_equal(decoded, expected.reshape(-1))
    labels = np.frombuffer(gzip.decompress(client.get(files["test_labels"]["url"]).content),
                           dtype=np.uint8)
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_hash_is_stable_across_requests(client, real_mnist):
    first = client.get("/api/mnist").json()
    assert client.get("/api/mnist").json() == first


def test_stale_hash_and_unknown_file_are_404_naming_the_current_url(client, real_mnist):
    files = client.get("/api/mnist").json()["files"]
    stale = client.get("/api/mnist/" + "0" * 64 + "/test-labels.u8.gz")
    assert stale.status_code == 404
    assert files["test_labels"]["sha256"] in json_detail(stale)
    unknown = client.get(f"/api/mnist/{files['test_labels']['sha256']}/passwords.txt")
    assert unknown.status_code == 404
    assert "test-labels.u8.gz" in json_detail(unknown)


def test_missing_cache_is_503_with_the_fix(client, mnist_dir, tmp_path):
    mnist_dir["dir"] = tmp_path
    for url in ("/api/mnist", "/api/mnist/" + "0" * 64 + "/train-images.u8.gz"):
        response = client.get(url)
        assert response.status_code == 503
        detail = json_detail(response)
        assert "is missing" in detail and "shadernet data" in detail


def test_corrupt_cache_is_503_naming_the_file(client, mnist_dir, tmp_path):
    for spec in FILES.values():
        (tmp_path / spec.name).write_bytes(b"\0" * 16)
    mnist_dir["dir"] = tmp_path
    response = client.get("/api/mnist")
    assert response.status_code == 503
    detail = json_detail(response)
    assert "train-images-idx3-ubyte" in detail and "16 bytes" in detail


def test_page_config_names_the_listing(client):
    page = client.get("/")
    assert '"mnist_url": "/api/mnist"' in page.text
