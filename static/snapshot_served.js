// The memory snapshot the server offers a browser that has none of its own (a first
// visit, a cleared profile): made at set-up by this same page in headless Chromium
// (server/snapshot_maker.py), served at an immutable content-addressed URL, gzip-encoded.
// The page config names it as `served_snapshot` {url, key, digest, checksum, bytes}.
//
// It is used only when its key is exactly the one this page would store its own under
// (python_boot.snapshotKey: the same start-up files, the same SNAPSHOT_PREPARE, an engine
// that makes the same choices), and its checksum (lanes64, as a stored one's) is checked
// against the config's while Python restores from it; where the server gave none, its
// SHA-256 (`digest`, with WebCrypto). Anything else, or a failed download,
// means the normal start; the reason is given in words, never thrown.

import { digestOf } from "./snapshot_store.js";

// {bytes, reason: "served", source: "served", check} (check as readSnapshot's),
// or {bytes: null, reason} when there is none to use; `noneStored` is why no stored one.
// `fromPage`: a promise of the bytes the page downloaded already (preload.js), or of
// null when it did not (then they are fetched here).
export async function fetchServed(served, key, noneStored, fromPage = null) {
  const why = (reason) => ({ bytes: null, reason: `${noneStored}; ${reason}` });
  if (!served) return why("none served");
  if (served.key !== key) return why("the served one is for other files or another engine");
  const expected = served.checksum || served.digest;
  const kind = expected.split(":")[0];
  if (kind === "sha256" && !globalThis.crypto?.subtle) {
    return why("the served one cannot be verified (no checksum, and no WebCrypto for its SHA-256)");
  }
  let bytes;
  try {
    const downloaded = fromPage && await fromPage;
    if (downloaded) {
      bytes = new Uint8Array(downloaded);
    } else {
      const response = await fetch(served.url);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      bytes = new Uint8Array(await response.arrayBuffer());
    }
  } catch (error) {
    return why(`the served one did not load: ${error.message || error}`);
  }
  if (bytes.byteLength !== served.bytes) {
    return why(`the served one has ${bytes.byteLength} bytes, not ${served.bytes}`);
  }
  const check = digestOf(bytes, kind).then(
    (actual) => (actual === expected ? null
      : `served snapshot corrupt: digest ${actual.slice(0, 19)}…, expected ${expected.slice(0, 19)}…`),
    (error) => `digest failed: ${error.message || error}`);
  return { bytes, reason: "served", source: "served", check };
}
