"""GET /api/mnist: all of MNIST for training in the page, in bulk, compressed, cached for good.

The listing (small JSON, revalidated) names four files, one per array of the verified cache
`shadernet data` fills:

    train_images  60000*784 uint8   pixels 0..255, row-major 28x28 per image (IDX order)
    train_labels  60000 uint8       0..9
    test_images   10000*784 uint8
    test_labels   10000 uint8

Each is the IDX payload without its header, gzip-compressed (`application/gzip`: the page
decodes it with `DecompressionStream("gzip")`, so the bytes are the same whatever the
browser's content negotiation), at `/api/mnist/<sha256 of the gzip bytes>/<file>`: the URL
changes with the content, so it is served `immutable` and a browser fetches it once. The
gzip header carries no time stamp, so one cache gives one hash on every start.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from starlette.responses import Response

from model_export.data import FILES, DataError, parse_idx, verify_file
from server.routes.replay import DATA_HINT, get_mnist_dir
from server.runtime_files import IMMUTABLE

router = APIRouter(prefix="/api/mnist", tags=["mnist"])

MnistDir = Annotated[Path, Depends(get_mnist_dir)]
FILE_NAMES = {"train_images": "train-images.u8.gz", "train_labels": "train-labels.u8.gz",
              "test_images": "test-images.u8.gz", "test_labels": "test-labels.u8.gz"}
LISTING_CACHE = "no-cache"  # the listing names the current hashes: ask before each use
GZIP_LEVEL = 6


@dataclass(frozen=True)
class PackedArray:
    """One MNIST array, gzip-compressed, with what the listing says about it."""

    key: str
    file: str
    count: int        # images or labels
    item_bytes: int   # 784 per image, 1 per label
    body: bytes       # the gzip bytes served
    sha256: str       # of `body`

    def listing(self) -> dict:
        return {"url": f"{router.prefix}/{self.sha256}/{self.file}", "count": self.count,
                "item_bytes": self.item_bytes, "bytes": self.count * self.item_bytes,
                "compressed_bytes": len(self.body), "encoding": "gzip",
                "sha256": self.sha256}


_packed: dict[Path, dict[str, PackedArray]] = {}
_packing = threading.Lock()


def _pack(directory: Path, key: str) -> PackedArray:
    spec = FILES[key]
    path = directory / spec.name
    if not path.is_file():
        raise FileNotFoundError(path)
    verify_file(path, spec)
    array = parse_idx(path.read_bytes(), spec.name, spec.magic)
    body = gzip.compress(array.tobytes(), compresslevel=GZIP_LEVEL, mtime=0)
    item_bytes = array[0].size if len(array) else (784 if array.ndim == 3 else 1)
    return PackedArray(key, FILE_NAMES[key], len(array), int(item_bytes), body,
                       hashlib.sha256(body).hexdigest())


def packed_arrays(directory: Path) -> dict[str, PackedArray]:
    """The four arrays of `directory`, verified and compressed once per process (a few s)."""
    directory = directory.resolve()
    with _packing:
        if directory not in _packed:
            arrays = {key: _pack(directory, key) for key in FILE_NAMES}
            for kind in ("train", "test"):
                images, labels = arrays[f"{kind}_images"], arrays[f"{kind}_labels"]
                if images.count != labels.count:
                    raise DataError(f"{kind}: {images.count} images but {labels.count} labels")
            _packed[directory] = arrays
        return _packed[directory]


def _arrays_or_503(directory: Path) -> dict[str, PackedArray]:
    try:
        return packed_arrays(directory)
    except FileNotFoundError as error:
        raise HTTPException(503, f"MNIST is unavailable on this server: {error} is missing; "
                                 f"{DATA_HINT}") from None
    except DataError as error:
        raise HTTPException(503, f"MNIST is unavailable on this server: {error}") from None


@router.get("", summary="Where the four MNIST arrays are (content-addressed URLs)",
            responses={503: {"description": "MNIST is not set up on the server"}})
def listing(mnist_dir: MnistDir) -> JSONResponse:
    arrays = _arrays_or_503(mnist_dir)
    body = {"format": "uint8, gzip; images 784 bytes each (28x28 row-major, 0..255), "
                      "labels 1 byte each (0..9)",
            "files": {key: packed.listing() for key, packed in arrays.items()}}
    return JSONResponse(body, headers={"Cache-Control": LISTING_CACHE})


@router.get("/{digest}/{file}", response_class=Response,
            summary="One MNIST array, gzip-compressed, immutable",
            responses={200: {"content": {"application/gzip": {}}},
                       404: {"description": "no array has that hash and name"},
                       503: {"description": "MNIST is not set up on the server"}})
def array_file(mnist_dir: MnistDir,
               digest: Annotated[str, PathParam(description="sha256 of the gzip bytes")],
               file: Annotated[str, PathParam(description=", ".join(FILE_NAMES.values()))],
               ) -> Response:
    if file not in FILE_NAMES.values():
        raise HTTPException(404, f"no MNIST file named '{file}'; the files are "
                                 f"{', '.join(FILE_NAMES.values())} (see {router.prefix})")
    arrays = _arrays_or_503(mnist_dir)
    packed = next(p for p in arrays.values() if p.file == file)
    if digest != packed.sha256:
        raise HTTPException(404, f"{file} has sha256 {packed.sha256} on this server, not "
                                 f"'{digest}'; take the current URL from {router.prefix}")
    return Response(packed.body, media_type="application/gzip",
                    headers={"Cache-Control": IMMUTABLE, "ETag": f'"{packed.sha256}"',
                             "X-Item-Count": str(packed.count)})
