"""MNIST loading: verification catches bad files by name, parsing checks headers, splits, augmentation."""

import shutil

import numpy as np
import pytest

from model_export import data


@pytest.fixture(scope="module")
def mnist_dir():
    return data.fetch_mnist()


def test_load_mnist_splits_shapes_and_ranges():
    mnist = data.load_mnist(validation_fraction=0.1, seed=0)
    assert (len(mnist.train), len(mnist.validation), len(mnist.test)) == (54_000, 6_000, 10_000)
    for split in (mnist.train, mnist.validation, mnist.test):
        assert split.x.dtype == np.float32 and split.x.shape[1:] == (28, 28, 1)
        assert split.y.dtype == np.int64
        assert split.x.min() == 0.0 and split.x.max() == 1.0
    # The official test set's class counts: a wrong parse would not reproduce them.
    assert np.bincount(mnist.test.y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_validation_split_is_disjoint_and_seeded():
    first = data.load_mnist(validation_fraction=0.2, subset=500, seed=3)
    again = data.load_mnist(validation_fraction=0.2, subset=500, seed=3)
    other = data.load_mnist(validation_fraction=0.2, subset=500, seed=4)
    assert (len(first.train), len(first.validation)) == (400, 100)
    np.testing.assert_array_equal(first.validation.x, again.validation.x)
    assert not np.array_equal(first.validation.x, other.validation.x)
    train_rows = {row.tobytes() for row in first.train.x}
    assert not any(row.tobytes() in train_rows for row in first.validation.x)


def test_truncated_file_is_named_and_refetched(tmp_path, mnist_dir):
    for spec in data.FILES.values():
        shutil.copyfile(mnist_dir / spec.name, tmp_path / spec.name)
    labels = tmp_path / data.FILES["test_labels"].name
    labels.write_bytes(labels.read_bytes()[:5000])
    with pytest.raises(data.DataError, match=r"t10k-labels-idx1-ubyte: 5000 bytes, expected 10008"):
        data.load_split("test", tmp_path)
    data.fetch_mnist(tmp_path, force=False)  # replaces only the bad file
    assert data.load_split("test", tmp_path).y.shape == (10_000,)


def test_corrupt_file_fails_its_checksum(tmp_path, mnist_dir):
    for spec in data.FILES.values():
        shutil.copyfile(mnist_dir / spec.name, tmp_path / spec.name)
    images = tmp_path / data.FILES["test_images"].name
    raw = bytearray(images.read_bytes())
    raw[5000] ^= 0xFF
    images.write_bytes(bytes(raw))
    with pytest.raises(data.DataError, match=r"t10k-images-idx3-ubyte: sha256 .* \(corrupt\)"):
        data.load_split("test", tmp_path)


@pytest.mark.parametrize("blob, message", [
    (b"\x00\x00\x08", "too short for an IDX header"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x05abc", r"header dims \(5,\) need 13"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x01x", "magic number 0x0803, expected 0x0801"),
])
def test_parse_idx_rejects_bad_headers(blob, message):
    with pytest.raises(data.DataError, match=message):
        data.parse_idx(blob, "labels.idx", 0x801)


def test_parse_idx_reads_dims_and_values():
    blob = b"\x00\x00\x08\x03" + (2).to_bytes(4, "big") + (1).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes(range(6))
    parsed = data.parse_idx(blob, "tiny", 0x803)
    assert parsed.shape == (2, 1, 3) and parsed.ravel().tolist() == list(range(6))


def test_augment_identity_when_all_ranges_are_zero():
    x = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    same = data.augment(x, np.random.default_rng(1), max_shift=0, max_rotation_degrees=0, max_scale=0)
    np.testing.assert_allclose(same, x, atol=1e-6)


def test_augment_shift_moves_ink_and_is_seeded():
    x = np.zeros((1, 28, 28, 1), dtype=np.float32)
    x[0, 10:18, 10:18, 0] = 1.0
    a = data.augment(x, np.random.default_rng(5), max_shift=3, max_rotation_degrees=0, max_scale=0)
    b = data.augment(x, np.random.default_rng(5), max_shift=3, max_rotation_degrees=0, max_scale=0)
    np.testing.assert_array_equal(a, b)
    rows, cols = np.indices((28, 28))
    centre = [(a[0, :, :, 0] * grid).sum() / a[0, :, :, 0].sum() for grid in (rows, cols)]
    assert centre != pytest.approx([13.5, 13.5], abs=0.05)
    assert max(abs(c - 13.5) for c in centre) <= 3.01
    assert a[0, :, :, 0].sum() == pytest.approx(64.0, rel=0.02)  # ink preserved by a pure shift
