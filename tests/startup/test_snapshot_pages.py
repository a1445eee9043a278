"""static/snapshot_pages.js against tests/support/packed_snapshot.py, an independent
Python writer of the same form: the same packed bytes for awkward heaps, each side unpacks
the other's (the page also any window of it into memory that held other bytes, as it
restores Pyodide's heap), and a packed form that does not add up is refused."""

from __future__ import annotations

import base64

import pytest

from tests.support.packed_snapshot import pack_pages, unpack_pages

pytestmark = pytest.mark.browser

# (length, non-zero byte offsets): empty, all zero, a length that is no multiple of the
# page or of 4, non-zero bytes at the very start and end, in one page's last byte, runs
# of adjacent pages and lone pages.
HEAPS = [
    (0, []),
    (10_000, []),
    (4097, [4096]),
    (12_289, [0, 12_288]),
    (40_963, [4095, 4096, 8191, 20_000, 36_863, 40_962]),
    (1 << 20, [5, 70_000, 70_001, 74_000, 900_000]),
]

ROUND_TRIP = """async ([heaps, fromPython]) => {
  const { packPages, unpackInto, unpackedLength, isPacked } = await import('/static/snapshot_pages.js');
  const same = (a, b) => a.length === b.length && a.every((x, j) => x === b[j]);
  const b64 = (bytes) => { let s = ''; for (const b of bytes) s += String.fromCharCode(b); return btoa(s); };
  const unb64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  return heaps.map(([length, offsets], i) => {
    const heap = new Uint8Array(length);
    offsets.forEach((offset, k) => { heap[offset] = (k % 255) + 1; });
    const packed = packPages(heap);
    const pythons = unb64(fromPython[i]);
    const theirs = new Uint8Array(unpackedLength(pythons));
    unpackInto(pythons, theirs);
    // A window starting inside a page, written over memory full of 0xAA.
    const start = Math.min(length, 4099);
    const window = new Uint8Array(length - start).fill(0xaa);
    unpackInto(packed, window, start);
    return { packed: b64(packed), isPacked: isPacked(packed) && !isPacked(heap.subarray(0, 12)),
             unpacksPython: same(theirs, heap), window: same(window, heap.subarray(start)) };
  });
}"""

DAMAGED = """async (packedB64) => {
  const { unpackedLength } = await import('/static/snapshot_pages.js');
  const packed = Uint8Array.from(atob(packedB64), (c) => c.charCodeAt(0));
  const view = new DataView(packed.buffer);
  const tries = {
    run_past_end: () => { const p = packed.slice(); new DataView(p.buffer).setUint32(16, 1 << 20, true); return p; },
    overlapping: () => { const p = packed.slice(); new DataView(p.buffer).setUint32(20, 0, true); return p; },
    truncated: () => packed.slice(0, packed.length - 1),
    not_packed: () => new Uint8Array(100),
  };
  const out = {};
  for (const [name, make] of Object.entries(tries)) {
    try { unpackedLength(make()); out[name] = 'accepted'; } catch (error) { out[name] = error.message; }
  }
  return out;
}"""


def _heap(length: int, offsets: list[int]) -> bytes:
    heap = bytearray(length)
    for k, offset in enumerate(offsets):
        heap[offset] = (k % 255) + 1
    return bytes(heap)


def test_the_page_packs_as_the_python_writer_does_and_reads_its_packs(blank_page):
    ours = [base64.b64encode(pack_pages(_heap(*heap))).decode() for heap in HEAPS]
    results = blank_page.evaluate(ROUND_TRIP, [HEAPS, ours])
    for (length, offsets), expected, result in zip(HEAPS, ours, results):
        packed = base64.b64decode(result["packed"])
        assert result["packed"] == expected, (length, offsets)
        assert unpack_pages(packed) == _heap(length, offsets)
        assert result["isPacked"] and result["unpacksPython"] and result["window"], (length, offsets)
    lone_pages = base64.b64decode(results[-1]["packed"])
    assert len(lone_pages) < 5 * 4096 + 100  # 1 MiB with four non-zero pages


def test_a_packed_form_that_does_not_add_up_is_refused(blank_page):
    # Two runs: pages 1 and 3 of a 5-page heap.
    packed = pack_pages(_heap(5 * 4096, [4096, 3 * 4096 + 7]))
    refused = blank_page.evaluate(DAMAGED, base64.b64encode(packed).decode())
    assert "out of place" in refused["run_past_end"]
    assert "out of place" in refused["overlapping"]
    assert "out of place" in refused["truncated"]
    assert "not a packed snapshot" in refused["not_packed"]
