// The browser's copy of the interpreter's memory snapshot: in the origin private file
// system (snapshot_opfs.js) where the browser offers it, else in IndexedDB
// (snapshot_idb.js).
//
// A snapshot is stored with its `key` and digest. `key` names everything the snapshot
// depends on (the Pyodide build, the stdlib zip, the runtime wheel, what the worker
// imported): a snapshot under another key is never restored, and writing one deletes the
// others (each is ~13 MB). Bytes whose checksum differs from the one stored with them (a
// damaged disk, a half-written file) are refused and deleted. The checksum is for damage,
// not for an attacker (who could write this origin's storage could as well write its
// code): a 64-bit one of the 32-bit words, in ~6 ms where SHA-256 took ~30 ms of the
// worker's start. A served snapshot is checked against the same checksum, given by the
// server (snapshot_served.js; a server record without one: its SHA-256, with WebCrypto).
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

// Four multiply-xor lanes, one per word of each 16 bytes (independent chains, so the CPU
// runs them side by side), then the tail bytes and the length: any change of one word
// changes its lane, unlike a plain sum.
function checksum(bytes) {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const words = new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength >>> 2);
  const prime = 0x01000193;
  let a = 0x811c9dc5, b = 0x9e3779b9, c = 0x7f4a7c15, d = 0x85ebca6b;
  const whole = words.length - (words.length % 4);
  for (let i = 0; i < whole; i += 4) {
    a = Math.imul(a ^ words[i], prime);
    b = Math.imul(b ^ words[i + 1], prime);
    c = Math.imul(c ^ words[i + 2], prime);
    d = Math.imul(d ^ words[i + 3], prime);
  }
  for (let i = whole; i < words.length; i++) a = Math.imul(a ^ words[i], prime);
  for (let i = words.length * 4; i < bytes.byteLength; i++) b = Math.imul(b ^ bytes[i], prime);
  const high = Math.imul(a ^ (c >>> 15), 0x85ebca6b) ^ bytes.byteLength;
  const low = Math.imul(b ^ (d >>> 13), 0xc2b2ae35) ^ Math.floor(bytes.byteLength / 2 ** 32);
  const hex8 = (x) => (x >>> 0).toString(16).padStart(8, "0");
  return `lanes64:${hex8(high)}${hex8(c ^ Math.imul(d, prime))}${hex8(low)}${hex8(a ^ b)}`;
}

// "sha256:<hex>" of the bytes (WebCrypto: secure contexts only), or, with `kind`
// "lanes64", the checksum above; each as a stored or served digest is written. The
// checksum runs on this thread, in a task of its own: a restore started meanwhile goes on
// until its first wait (for the wasm, the stdlib) instead of waiting ~6-17 ms for it.
export async function digestOf(bytes, kind = "sha256") {
  if (kind === "lanes64") {
    await new Promise((resolve) => setTimeout(resolve, 0));
    return checksum(bytes);
  }
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new Error("no WebCrypto (crypto.subtle) on this page to check a SHA-256 digest");
  return `sha256:${hex(new Uint8Array(await subtle.digest("SHA-256", bytes)))}`;
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
    const check = digestOf(bytes, stored.split(":")[0]).then(async (actual) => {
      if (actual === stored) return null;
      await deleteSnapshot(key);
      return `corrupt: digest ${actual.slice(0, 19)}…, stored ${stored.slice(0, 19)}…`;
    }, (error) => `digest failed: ${error.message || error}`);
    return { bytes, reason: "stored", store: backend.name, check };
  } catch (error) {
    return { bytes: null, reason: `unavailable: ${error.message || error}` };
  }
}

// Stores `bytes` under `key` with their checksum and deletes every other snapshot (in
// IndexedDB too, where an earlier version of the page kept them); resolves to null or the
// reason it could not.
export async function writeSnapshot(key, bytes) {
  try {
    const backend = await store();
    await backend.write(key, bytes, await digestOf(bytes, "lanes64"));
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
