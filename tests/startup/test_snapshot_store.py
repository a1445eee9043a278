"""static/snapshot_store.js in a real browser: the origin private file system (OPFS) where
the browser offers it, IndexedDB where it does not, each refusing what it cannot vouch for.

The worker cases run the store in a dedicated module worker (tests/startup/store_worker.js),
as the page's worker does (OPFS through sync access handles); the page cases run it in the
page (OPFS through File and writable streams), as the tests and the bench read it.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

MB = 1_000_000
KEY_A = "build-a|stdlib-a|wheel-a|prepare"
KEY_B = "build-a|stdlib-a|wheel-b|prepare"
# Runs `ops` one after another in a fresh module worker; resolves to their results.
IN_WORKER = """async (ops) => {
  const worker = new Worker('/tests/startup/store_worker.js', {type: 'module'});
  const results = [];
  try {
    for (const [id, op] of ops.entries()) {
      results.push(await new Promise((resolve, reject) => {
        worker.onmessage = ({data}) => data.error ? reject(new Error(data.error)) : resolve(data.result);
        worker.onerror = (event) => reject(new Error(event.message || 'worker failed'));
        worker.postMessage({id, ...op});
      }));
    }
  } finally {
    worker.terminate();
  }
  return results;
}"""
# The stored OPFS file, cut to `keep` bytes (a write that stopped half-way).
TRUNCATE_OPFS = """async (keep) => {
  const root = await navigator.storage.getDirectory();
  const folder = await root.getDirectoryHandle('shadernet-startup');
  const handle = await folder.getFileHandle('snapshot.bin');
  const writable = await handle.createWritable({keepExistingData: true});
  await writable.truncate(keep);
  await writable.close();
  return (await handle.getFile()).size;
}"""
IDB_KEYS = """async () => {
  const known = await indexedDB.databases();
  if (!known.some((db) => db.name === 'shadernet-startup')) return [];
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open('shadernet-startup', 1);
    open.onsuccess = () => resolve(open.result); open.onerror = () => reject(open.error);
  });
  const keys = await new Promise((resolve) => {
    const request = db.transaction('snapshots').objectStore('snapshots').getAllKeys();
    request.onsuccess = () => resolve(request.result);
  });
  db.close();
  return keys;
}"""


def test_in_a_worker_snapshots_go_to_opfs_one_at_a_time(blank_page):
    write_a = {"op": "write", "key": KEY_A, "size": 30 * MB + 3, "fill": 7}
    read_a, read_b = {"op": "read", "key": KEY_A}, {"op": "read", "key": KEY_B}
    write_b = {"op": "write", "key": KEY_B, "size": MB, "fill": 9}
    listing = {"op": "list"}
    results = blank_page.evaluate(IN_WORKER, [write_a, read_a, read_b, listing, write_b, read_a,
                                        read_b, listing])
    assert results[0] is None  # stored
    assert results[1] == {"bytes": 30 * MB + 3, "first": 7, "last": 7, "store": "opfs", "check": None}
    assert results[2] == {"bytes": None, "reason": "none"}  # another key is never restored
    assert [(e["key"], e["bytes"], e["store"]) for e in results[3]] == [(KEY_A, 30 * MB + 3, "opfs")]
    assert results[3][0]["digest"].startswith("lanes64:")
    assert results[4] is None
    assert results[5] == {"bytes": None, "reason": "none"}  # replaced by B's
    assert results[6] == {"bytes": MB, "first": 9, "last": 9, "store": "opfs", "check": None}
    assert [e["key"] for e in results[7]] == [KEY_B]


def test_a_half_written_opfs_snapshot_is_refused_and_deleted(blank_page):
    blank_page.evaluate(IN_WORKER, [{"op": "write", "key": KEY_A, "size": 4 * MB, "fill": 1}])
    assert blank_page.evaluate(TRUNCATE_OPFS, 2 * MB) == 2 * MB
    read, listing = blank_page.evaluate(IN_WORKER, [{"op": "read", "key": KEY_A}, {"op": "list"}])
    assert read["bytes"] < 4 * MB and read["check"].startswith("corrupt: digest lanes64:"), read
    assert listing == []
    again = blank_page.evaluate(IN_WORKER, [{"op": "read", "key": KEY_A}])[0]
    assert again == {"bytes": None, "reason": "none"}


def test_without_opfs_the_worker_keeps_its_snapshot_in_indexeddb(blank_page):
    hidden = {"hide_opfs": True}
    results = blank_page.evaluate(IN_WORKER, [
        {"op": "write", "key": KEY_A, "size": 3 * MB, "fill": 5, **hidden},
        {"op": "read", "key": KEY_A, **hidden}, {"op": "list", **hidden},
        {"op": "write", "key": KEY_B, "size": MB, "fill": 6, **hidden},
        {"op": "read", "key": KEY_A, **hidden}])
    assert results[0] is None
    assert results[1] == {"bytes": 3 * MB, "first": 5, "last": 5, "store": "indexeddb",
                          "check": None}
    assert [(e["key"], e["store"]) for e in results[2]] == [(KEY_A, "indexeddb")]
    assert results[4] == {"bytes": None, "reason": "none"}
    assert blank_page.evaluate(IDB_KEYS) == [KEY_B]
    # Nothing went to OPFS: a store that can use it finds no snapshot there.
    assert blank_page.evaluate(IN_WORKER, [{"op": "list"}])[0] == []


def test_a_snapshot_stored_in_opfs_clears_one_an_earlier_page_left_in_indexeddb(blank_page):
    blank_page.evaluate(IN_WORKER, [{"op": "write", "key": KEY_A, "size": MB, "fill": 2,
                               "hide_opfs": True}])
    assert blank_page.evaluate(IDB_KEYS) == [KEY_A]
    assert blank_page.evaluate(IN_WORKER, [{"op": "write", "key": KEY_B, "size": MB, "fill": 3}]) == [None]
    assert blank_page.evaluate(IDB_KEYS) == []
    read = blank_page.evaluate(IN_WORKER, [{"op": "read", "key": KEY_B}])[0]
    assert read["store"] == "opfs" and read["check"] is None


def test_the_page_reads_what_the_worker_stored(blank_page):
    """Outside a worker (no sync access handles) the store reads the same file."""
    blank_page.evaluate(IN_WORKER, [{"op": "write", "key": KEY_A, "size": 2 * MB, "fill": 4}])
    read = blank_page.evaluate("""async (key) => {
      const store = await import('/static/snapshot_store.js');
      const stored = await store.readSnapshot(key);
      return {bytes: stored.bytes.length, last: stored.bytes.at(-1), store: stored.store,
              check: await stored.check, listed: (await store.listSnapshots()).length};
    }""", KEY_A)
    assert read == {"bytes": 2 * MB, "last": 4, "store": "opfs", "check": None, "listed": 1}


# The page's checksum (lanes64) of each byte string given as base64.
PAGE_CHECKSUMS = """async (encoded) => {
  const store = await import('/static/snapshot_store.js');
  const decode = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const out = [];
  for (const text of encoded) {
    out.push(await store.digestOf(decode(text), 'lanes64'));
    // The same bytes at an odd offset of a bigger buffer: the page copies them to read words.
    const shifted = new Uint8Array(decode(text).length + 1);
    shifted.set(decode(text), 1);
    out.push(await store.digestOf(shifted.subarray(1), 'lanes64'));
  }
  return out;
}"""


def test_the_servers_checksum_is_the_pages(blank_page):
    """server/snapshot_checksum.py writes the checksum the page checks a served snapshot
    against: both give the same for every length modulo 16, for bytes that differ in one
    word, and for a snapshot-sized buffer."""
    import base64
    import random

    from server.snapshot_checksum import lanes64

    rng = random.Random(7)
    samples = [rng.randbytes(n) for n in range(0, 33)] + [rng.randbytes(3 * MB + 5)]
    one_word = bytearray(samples[-1])
    one_word[MB] ^= 1
    samples.append(bytes(one_word))
    page = blank_page.evaluate(PAGE_CHECKSUMS, [base64.b64encode(s).decode() for s in samples])
    ours = [lanes64(s) for s in samples]
    assert page == [checksum for checksum in ours for _ in (0, 1)]
    assert len(set(ours)) == len(ours)  # no two samples alike, the one-bit change included
