// A module worker for tests/startup/test_snapshot_store.py: runs the page worker's
// snapshot store (static/snapshot_store.js) where it runs in the product, in a dedicated
// worker (OPFS through sync access handles). Message {id, op, key, size, fill, hide_opfs}
// -> {id, result} | {id, error}. `size` bytes of `fill` are written; a read answers
// {bytes, first, last, store, check} (check: null once the digest matched, else why not).

import * as store from "/static/snapshot_store.js";

self.onmessage = async ({ data }) => {
  try {
    if (data.hide_opfs) delete StorageManager.prototype.getDirectory;
    let result;
    if (data.op === "write") {
      result = await store.writeSnapshot(data.key, new Uint8Array(data.size).fill(data.fill));
    } else if (data.op === "read") {
      const stored = await store.readSnapshot(data.key);
      result = stored.bytes
        ? { bytes: stored.bytes.length, first: stored.bytes[0], last: stored.bytes.at(-1),
            store: stored.store, check: await stored.check }
        : { bytes: null, reason: stored.reason };
    } else if (data.op === "list") {
      result = await store.listSnapshots();
    }
    self.postMessage({ id: data.id, result });
  } catch (error) {
    self.postMessage({ id: data.id, error: String(error.stack || error) });
  }
};
