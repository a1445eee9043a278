// The snapshot store's IndexedDB backend (see snapshot_store.js): one record
// {key, bytes, digest, made_at} per key in the object store "snapshots". Used where the
// origin private file system is not (an insecure context, some private windows).

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

export const name = "indexeddb";

// {key, digest, bytes: Uint8Array} stored under `key`, or null.
export async function read(key) {
  const record = await transaction("readonly", (store) => request(store.get(key)));
  return record ? { key, digest: String(record.digest), bytes: new Uint8Array(record.bytes) } : null;
}

// Stores the record and deletes every other key's.
export async function write(key, bytes, digest) {
  await transaction("readwrite", async (store) => {
    const keys = await request(store.getAllKeys());
    for (const other of keys) if (other !== key) store.delete(other);
    const whole = bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
    store.put({ key, bytes: whole, digest, made_at: Date.now() });
  });
}

export async function remove(key) {
  await transaction("readwrite", (store) => request(store.delete(key)));
}

// [{key, bytes (length), digest}] of every record.
export async function list() {
  const all = await transaction("readonly", (store) => request(store.getAll()));
  return all.map((record) => ({ key: record.key, bytes: record.bytes.byteLength,
                                digest: String(record.digest) }));
}

// Deletes every record, without creating the database where there is none.
export async function clear() {
  const known = (await indexedDB.databases?.()) || [];
  if (known.some((db) => db.name === DATABASE)) await transaction("readwrite", (store) => request(store.clear()));
}
