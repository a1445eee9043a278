"""gzip copies of served files: made once per file version, never evicted, and never made
to answer a revalidation (a 304 needs only the ETag)."""

from __future__ import annotations

import gzip
import threading
import time

import pytest
from starlette.datastructures import Headers

import server.assets as assets
import server.gzip_copies as gzip_copies
from server.assets import cached_file_response
from server.gzip_copies import GzipCopies

ACCEPTS_GZIP = Headers({"accept-encoding": "gzip, deflate"})


@pytest.fixture
def compressions(monkeypatch) -> list[int]:
    """A fresh store of copies for the server; each compression's input size is recorded."""
    made: list[int] = []
    real = gzip.compress

    def counting(data, *args, **kwargs):
        made.append(len(data))
        return real(data, *args, **kwargs)

    monkeypatch.setattr(gzip_copies.gzip, "compress", counting)
    monkeypatch.setattr(assets, "GZIP_COPIES", GzipCopies())
    return made


def _script(tmp_path, name: str, size: int = 5000):
    path = tmp_path / name
    path.write_text("// " + "x" * size + "\n")
    return path


def test_a_gzip_response_holds_the_file_under_its_own_etag(tmp_path, compressions):
    path = _script(tmp_path, "a.js")
    plain = cached_file_response(path, "no-cache", Headers({}))
    encoded = cached_file_response(path, "no-cache", ACCEPTS_GZIP)
    assert encoded.headers["content-encoding"] == "gzip"
    assert gzip.decompress(encoded.body) == path.read_bytes()
    assert encoded.headers["etag"] == plain.headers["etag"][:-1] + '-gzip"'
    assert encoded.headers["vary"] == "Accept-Encoding"
    assert encoded.headers["cache-control"] == "no-cache"


def test_a_revalidation_is_answered_without_compressing(tmp_path, compressions):
    path = _script(tmp_path, "a.js")
    etag = cached_file_response(path, "no-cache", ACCEPTS_GZIP).headers["etag"]
    compressions.clear()
    assets.GZIP_COPIES = GzipCopies()  # as after a restart: no copy kept
    revalidated = cached_file_response(
        path, "no-cache", Headers({"accept-encoding": "gzip", "if-none-match": etag}))
    assert revalidated.status_code == 304
    assert revalidated.headers["etag"] == etag
    assert compressions == []


def test_copies_are_never_evicted_however_many_files_are_served(tmp_path, compressions):
    # The old cache held 32 copies: the page's ~40 modules pushed the wasm's copy out.
    first = _script(tmp_path, "first.js", size=200_000)
    cached_file_response(first, "no-cache", ACCEPTS_GZIP)
    for index in range(100):
        cached_file_response(_script(tmp_path, f"m{index}.js"), "no-cache", ACCEPTS_GZIP)
    compressions.clear()
    again = cached_file_response(first, "no-cache", ACCEPTS_GZIP)
    assert gzip.decompress(again.body) == first.read_bytes()
    assert compressions == []


def test_a_changed_file_gets_a_new_copy_in_place_of_the_old(tmp_path, compressions):
    path = _script(tmp_path, "a.js")
    cached_file_response(path, "no-cache", ACCEPTS_GZIP)
    time.sleep(0.01)
    path.write_text("// changed " + "y" * 4000 + "\n")
    changed = cached_file_response(path, "no-cache", ACCEPTS_GZIP)
    assert gzip.decompress(changed.body) == path.read_bytes()
    assert len(compressions) == 2
    assert len(assets.GZIP_COPIES._copies) == 1


def test_callers_at_once_make_one_copy(tmp_path, compressions):
    path = _script(tmp_path, "big.js", size=3_000_000)
    copies = GzipCopies()
    bodies: list[bytes] = []
    threads = [threading.Thread(target=lambda: bodies.append(copies.get(path, path.stat())))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(compressions) == 1
    assert len(set(bodies)) == 1 and gzip.decompress(bodies[0]) == path.read_bytes()


def test_compress_ahead_makes_the_copies_and_skips_missing_files(tmp_path, compressions):
    copies = GzipCopies()
    present = _script(tmp_path, "p.js")
    copies.compress_ahead([tmp_path / "missing.js", present]).join(timeout=30)
    compressions.clear()
    assert gzip.decompress(copies.get(present, present.stat())) == present.read_bytes()
    assert compressions == []
