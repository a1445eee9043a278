// The browser's copy of the interpreter's memory snapshot: in the origin private file
// system (snapshot_opfs.js) where the browser offers it, else in IndexedDB
// (snapshot_idb.js).
//
// A snapshot is stored with its `key` and digest. `key` names everything the snapshot
// depends on (the Pyodide build, the stdlib zip, the runtime wheel, what the worker
// imported): a snapshot under another key is never restored, and writing one deletes the
// others (each is ~13 MB). Bytes whose digest differs from the one stored with them (a
// damaged disk, a half-written file) are refused and deleted: SHA-256 where WebCrypto
// exists (secure contexts: https, localhost), else a 64-bit checksum of the 32-bit words.
// Every function resolves, never rejects: without either store (a private window, a full
// disk) the page starts normally, only slower.

import * as indexedDb from "./snapshot_idb.js";
import * as opfs from "./snapshot_opfs.js";

// The store to use: OPFS where it is offered and opens, else IndexedDB.
let choosing = null;
function store() {
  if (!choosing) {
    choosing = (async () => {
      if (!opfs.offered()) return indexedDb;
      try {
        await navigator.storage.getDirectory();
        return opfs;
      } catch (_) {  // e.g. a private window that refuses it
        return indexedDb;
      }
    })();
  }
  return choosing;
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

// Two multiply-xor lanes over the words (plus the byte length): any change of a word
// changes it, unlike a plain sum; for a non-secure page, where crypto.subtle is missing.
function wordChecksum(bytes) {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const words = new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength >>> 2);
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

// {bytes, store, check} when a snapshot is stored under `key`: `check` resolves to null
// once its digest matched, or to the reason it did not (the snapshot is then deleted), so
// the caller may restore while the digest is computed off the thread and throw the result
// away if the check fails. Otherwise {bytes: null, reason} ("none", "unavailable: ...").
export async function readSnapshot(key) {
  try {
    const backend = await store();
    const record = await backend.read(key);
    if (!record) return { bytes: null, reason: "none" };
    const { bytes, digest: stored } = record;
    const check = digestOf(bytes, stored).then(async (actual) => {
      if (actual === stored) return null;
      await deleteSnapshot(key);
      return `corrupt: digest ${actual.slice(0, 19)}…, stored ${stored.slice(0, 19)}…`;
    }, (error) => `digest failed: ${error.message || error}`);
    return { bytes, reason: "stored", store: backend.name, check };
  } catch (error) {
    return { bytes: null, reason: `unavailable: ${error.message || error}` };
  }
}

// Stores `bytes` under `key` and deletes every other snapshot (in IndexedDB too, where
// an earlier version of the page kept them); resolves to null or the reason it could not.
// `digest`: the bytes' SHA-256 digest when already checked (a served snapshot's).
export async function writeSnapshot(key, bytes, digest = null) {
  try {
    const backend = await store();
    await backend.write(key, bytes, digest || await digestOf(bytes));
    if (backend !== indexedDb) await indexedDb.clear().catch(() => {});
    return null;
  } catch (error) {
    return error.message || String(error);
  }
}

export async function deleteSnapshot(key) {
  try {
    await (await store()).remove(key);
  } catch (_) { /* nothing stored, or no store: nothing to delete */ }
}

// [{key, bytes, digest, store}] of every stored snapshot (for tests and the bench).
export async function listSnapshots() {
  try {
    const backend = await store();
    return (await backend.list()).map((entry) => ({ ...entry, store: backend.name }));
  } catch (_) {
    return [];
  }
}
