"""GET /api/replay: balanced, repeatable MNIST samples for fine-tuning replay; clear 503s."""

from __future__ import annotations

import numpy as np
import pytest

from model_export.data import FILES, cache_dir
from server.routes.replay import balanced_sample, get_mnist_dir

REAL_MNIST = all((cache_dir() / spec.name).is_file() for spec in FILES.values())
needs_mnist = pytest.mark.skipif(not REAL_MNIST, reason="MNIST cache missing: run `shadernet data`")


@pytest.fixture
def mnist_dir(app):
    """Point the route at a folder of our choosing for one test."""
    chosen = {}
    app.dependency_overrides[get_mnist_dir] = lambda: chosen["dir"]
    yield chosen
    app.dependency_overrides.pop(get_mnist_dir, None)


def decode(body: bytes, count: int) -> tuple[np.ndarray, np.ndarray]:
    images = np.frombuffer(body[:count * 784 * 4], dtype="<f4").reshape(count, 28, 28)
    return images, np.frombuffer(body[count * 784 * 4:], dtype=np.uint8)


@needs_mnist
def test_replay_returns_balanced_float_images_and_labels(client, mnist_dir):
    mnist_dir["dir"] = cache_dir()
    response = client.get("/api/replay", params={"count": 300})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["x-replay-count"] == "300"
    assert len(response.content) == 300 * 784 * 4 + 300
    images, labels = decode(response.content, 300)
    assert np.bincount(labels, minlength=10).tolist() == [30] * 10
    assert images.min() == 0.0 and images.max() == 1.0
    # MNIST digits are centred: most ink sits inside the middle 20x20.
    assert images[:, 4:24, 4:24].sum() > 0.95 * images.sum()


@needs_mnist
def test_replay_is_repeatable_per_seed(client, mnist_dir):
    mnist_dir["dir"] = cache_dir()
    first = client.get("/api/replay", params={"count": 25, "seed": 3}).content
    again = client.get("/api/replay", params={"count": 25, "seed": 3}).content
    other = client.get("/api/replay", params={"count": 25, "seed": 4}).content
    assert first == again and first != other
    _, labels = decode(first, 25)
    assert sorted(np.bincount(labels, minlength=10).tolist()) == [2] * 5 + [3] * 5


@pytest.mark.parametrize("count", [0, -1, 2001, "many"], ids=["zero", "negative", "over-max", "text"])
def test_replay_count_out_of_range_is_422(client, count):
    response = client.get("/api/replay", params={"count": count})
    assert response.status_code == 422
    assert "count" in response.json()["detail"]


def test_replay_without_mnist_is_503_with_the_fix(client, mnist_dir, tmp_path):
    mnist_dir["dir"] = tmp_path / "empty"
    response = client.get("/api/replay")
    assert response.status_code == 503
    detail = response.json()["detail"]
    assert "train-images-idx3-ubyte is missing" in detail and "shadernet data" in detail


def test_replay_with_truncated_mnist_is_503_naming_the_file(client, mnist_dir, tmp_path):
    for spec in FILES.values():
        (tmp_path / spec.name).write_bytes(b"\0" * 16)
    mnist_dir["dir"] = tmp_path
    response = client.get("/api/replay", params={"count": 5})
    assert response.status_code == 503
    assert "train-images-idx3-ubyte: 16 bytes, expected 47040016" in response.json()["detail"]


def test_balanced_sample_spreads_classes_and_copes_with_small_classes():
    labels = np.array([0] * 50 + [1] * 50 + [2] * 2 + list(range(3, 10)) * 20)
    index = balanced_sample(labels, 25, seed=0)
    counts = np.bincount(labels[index], minlength=10)
    assert len(set(index.tolist())) == 25
    assert counts[2] == 2 and set(counts.tolist()) == {2, 3}
    assert len(balanced_sample(labels, 40, seed=0)) == 38  # 4 per class, class 2 has 2
