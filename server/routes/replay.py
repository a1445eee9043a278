"""GET /api/replay: a few hundred MNIST training images for the page's fine-tuning replay.

Fine-tuning on a handful of a person's digits alone makes the model forget the rest
(DESIGN.md, "replay"); the page mixes them with these. The body is binary, little-endian:

    count * 784 float32   images, (count, 28, 28, 1) NHWC, ink 1.0 on 0.0
    count uint8           labels 0..9

The header `X-Replay-Count` repeats `count`. The sample is class-balanced and depends only
on `count` and `seed`, so the response may be cached.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query
from starlette.responses import Response

from model_export.data import FILES, DataError, cache_dir, parse_idx, verify_file

router = APIRouter(prefix="/api/replay", tags=["replay"])

MAX_COUNT = 2000
IMAGE_FLOATS = 28 * 28
CACHE_CONTROL = "public, max-age=86400"
DATA_HINT = "run `shadernet data` (or `make setup`) on the server to fetch MNIST"


def get_mnist_dir() -> Path:
    """Where the MNIST IDX files are (the set-up cache); tests override this dependency."""
    return cache_dir()


MnistDir = Annotated[Path, Depends(get_mnist_dir)]


@lru_cache(maxsize=2)
def _training_set(directory: Path) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (60000, 28, 28) and labels (60000,), verified and read once per folder."""
    arrays = []
    for key in ("train_images", "train_labels"):
        spec = FILES[key]
        path = directory / spec.name
        if not path.is_file():
            raise FileNotFoundError(path)
        verify_file(path, spec)
        arrays.append(parse_idx(path.read_bytes(), spec.name, spec.magic))
    images, labels = arrays
    if len(images) != len(labels):
        raise DataError(f"train: {len(images)} images but {len(labels)} labels")
    return images, labels


def balanced_sample(labels: np.ndarray, count: int, seed: int) -> np.ndarray:
    """`count` indices into `labels`, as even across the 10 classes as count allows, shuffled."""
    rng = np.random.default_rng(seed)
    per_class = -(-count // 10)
    chosen = [rng.permutation(np.flatnonzero(labels == digit))[:per_class] for digit in range(10)]
    # Round-robin over classes, then cut: the first `count` are balanced to within one.
    interleaved = [c[rank] for rank in range(per_class) for c in chosen if rank < len(c)]
    return rng.permutation(np.array(interleaved[:count], dtype=np.intp))


@router.get("", response_class=Response, summary="MNIST training images for replay",
            responses={200: {"description": "count*784 float32 images then count uint8 labels",
                             "content": {"application/octet-stream": {}}},
                       503: {"description": "MNIST is not set up on the server"}})
def replay(mnist_dir: MnistDir,
           count: Annotated[int, Query(ge=1, le=MAX_COUNT,
                                       description="How many images.")] = 300,
           seed: Annotated[int, Query(ge=0, le=2**31 - 1,
                                      description="Which sample (same seed, same images).")] = 0,
           ) -> Response:
    try:
        images, labels = _training_set(mnist_dir.resolve())
    except FileNotFoundError as error:
        raise HTTPException(503, f"replay images are unavailable: {error} is missing; "
                                 f"{DATA_HINT}") from None
    except DataError as error:
        raise HTTPException(503, f"replay images are unavailable: {error}") from None
    index = balanced_sample(labels, count, seed)
    count = len(index)  # fewer only if the training set itself is smaller
    pixels = (images[index].astype("<f4") / np.float32(255.0)).reshape(count, IMAGE_FLOATS)
    body = pixels.tobytes() + labels[index].astype(np.uint8).tobytes()
    return Response(body, media_type="application/octet-stream",
                    headers={"X-Replay-Count": str(count), "Cache-Control": CACHE_CONTROL})
