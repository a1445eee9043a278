// The browser's copy of the interpreter's memory snapshot (IndexedDB), one record per key.
//
// A record is {key, bytes, digest, made_at}. `key` names everything the snapshot depends
// on (the Pyodide build, the stdlib zip, the runtime wheel, what the worker imported): a
// record under another key is never restored, and writing one deletes the others (each is
// ~30 MB). Bytes whose digest differs from the one stored with them (a damaged disk, a
// half-written record) are refused and deleted: SHA-256 where WebCrypto exists (secure
// contexts: https, localhost), else a 64-bit checksum of the 32-bit words. Every function resolves, never rejects:
// without IndexedDB (a private window, a full disk) the page starts normally, only slower.

const DATABASE = "shadernet-startup";
const STORE = "snapshots";

function request(idbRequest) {
  return new Promise((resolve, reject) => {
    idbRequest.onsuccess = () => resolve(idbRequest.result);
    idbRequest.onerror = () => reject(idbRequest.error);
  });
}

let opening = null;
function database() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      if (typeof indexedDB === "undefined") throw new Error("IndexedDB is not available");
      const open = indexedDB.open(DATABASE, 1);
      open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: "key" });
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
      open.onblocked = () => reject(new Error("IndexedDB open is blocked by another tab"));
    });
    opening.catch(() => { opening = null; });
  }
  return opening;
}

async function transaction(mode, work) {
  const db = await database();
  const tx = db.transaction(STORE, mode);
  const done = new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("IndexedDB transaction aborted"));
  });
  const result = await work(tx.objectStore(STORE));
  await done;
  return result;
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

// Two multiply-xor lanes over the words (plus the byte length): any change of a word
// changes it, unlike a plain sum; for a non-secure page, where crypto.subtle is missing.
function wordChecksum(bytes) {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
  let a = 0x811c9dc5 ^ bytes.byteLength, b = 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    a = Math.imul(a ^ words[i], 0x01000193);
    b = Math.imul(b + words[i] + i, 0x85ebca6b) ^ (b >>> 13);
  }
  for (let i = words.length * 4; i < bytes.byteLength; i++) a = Math.imul(a ^ bytes[i], 0x01000193);
  return `words64:${(a >>> 0).toString(16).padStart(8, "0")}${(b >>> 0).toString(16).padStart(8, "0")}`;
}

// "sha256:<hex>" or "words64:<hex>"; `like` picks the algorithm of a stored digest.
export async function digestOf(bytes, like = null) {
  const subtle = globalThis.crypto?.subtle;
  if (subtle && !(like && like.startsWith("words64:"))) {
    return `sha256:${hex(new Uint8Array(await subtle.digest("SHA-256", bytes)))}`;
  }
  return wordChecksum(bytes);
}

// {bytes, check} when a snapshot is stored under `key`: `check` resolves to null once its
// digest matched, or to the reason it did not (the record is then deleted), so the caller
// may restore while the digest is computed off the thread and throw the result away if
// the check fails. Otherwise {bytes: null, reason} ("none", "unavailable: ...").
export async function readSnapshot(key) {
  try {
    const record = await transaction("readonly", (store) => request(store.get(key)));
    if (!record) return { bytes: null, reason: "none" };
    const bytes = new Uint8Array(record.bytes);
    const stored = String(record.digest);
    const check = digestOf(bytes, stored).then(async (actual) => {
      if (actual === stored) return null;
      await deleteSnapshot(key);
      return `corrupt: digest ${actual.slice(0, 19)}…, stored ${stored.slice(0, 19)}…`;
    }, (error) => `digest failed: ${error.message || error}`);
    return { bytes, reason: "stored", check };
  } catch (error) {
    return { bytes: null, reason: `unavailable: ${error.message || error}` };
  }
}

// Stores `bytes` under `key` and deletes every other snapshot; resolves to null or the reason it could not.
export async function writeSnapshot(key, bytes) {
  try {
    const digest = await digestOf(bytes);
    await transaction("readwrite", async (store) => {
      const keys = await request(store.getAllKeys());
      for (const other of keys) if (other !== key) store.delete(other);
      const whole = bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
      store.put({ key, bytes: whole, digest, made_at: Date.now() });
    });
    return null;
  } catch (error) {
    return error.message || String(error);
  }
}

export async function deleteSnapshot(key) {
  try {
    await transaction("readwrite", (store) => request(store.delete(key)));
  } catch (_) { /* nothing stored, or no IndexedDB: nothing to delete */ }
}
