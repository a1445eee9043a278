// The snapshot store's backend in the origin private file system (see snapshot_store.js):
// one file, shadernet-startup/snapshot.bin, holding the latest snapshot:
//
//   "SNP1" | uint32 LE header length | header JSON {key, digest, made_at, length} | bytes
//
// In a worker it is read and written through a sync access handle (the page's worker
// reads a ~13 MB snapshot in tens of ms, several times faster than an IndexedDB record
// of the same size); elsewhere (the page, tests) through File and writable streams. A new snapshot is
// written to snapshot.partial and then moved over snapshot.bin, so a reader never sees a
// half-written one (and the digest would refuse it if it did).

const FOLDER = "shadernet-startup";
const FILE = "snapshot.bin";
const PARTIAL = "snapshot.partial";
const MAGIC = 0x31504e53;  // "SNP1" read as a little-endian uint32
const PREFIX_BYTES = 8;

export const name = "opfs";

// True where this browser and context offer the origin private file system at all.
export function offered() {
  return typeof navigator !== "undefined" && typeof navigator.storage?.getDirectory === "function";
}

async function folder() {
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle(FOLDER, { create: true });
}

async function fileHandle(fileName, create = false) {
  try {
    return await (await folder()).getFileHandle(fileName, { create });
  } catch (error) {
    if (error.name === "NotFoundError") return null;
    throw error;
  }
}

const syncAccess = (handle) => typeof handle.createSyncAccessHandle === "function";

// Calls `work(readAt)` with readAt(offset, length) -> Promise<Uint8Array>.
async function reading(handle, work) {
  if (syncAccess(handle)) {
    const access = await handle.createSyncAccessHandle();
    try {
      return await work(async (at, length) => {
        const out = new Uint8Array(Math.max(0, Math.min(length, access.getSize() - at)));
        access.read(out, { at });
        return out;
      });
    } finally {
      access.close();
    }
  }
  const file = await handle.getFile();
  return work(async (at, length) => new Uint8Array(await file.slice(at, at + length).arrayBuffer()));
}

// {key, digest, length, offset} of the file's header, or null if it is not one of ours.
async function readHeader(readAt) {
  const prefix = await readAt(0, PREFIX_BYTES);
  if (prefix.length < PREFIX_BYTES) return null;
  const view = new DataView(prefix.buffer);
  if (view.getUint32(0, true) !== MAGIC) return null;
  const headerLength = view.getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(await readAt(PREFIX_BYTES, headerLength)));
  return { ...header, offset: PREFIX_BYTES + headerLength };
}

// {key, digest, bytes: Uint8Array} when the stored snapshot is `key`'s, else null.
// A file too short for its header's length is returned as it is: the digest refuses it.
export async function read(key) {
  const handle = await fileHandle(FILE);
  if (!handle) return null;
  return reading(handle, async (readAt) => {
    const header = await readHeader(readAt);
    if (!header || header.key !== key) return null;
    return { key, digest: String(header.digest), bytes: await readAt(header.offset, header.length) };
  });
}

function encode(key, bytes, digest) {
  const header = new TextEncoder().encode(JSON.stringify(
    { key, digest, made_at: Date.now(), length: bytes.byteLength }));
  const prefix = new Uint8Array(PREFIX_BYTES + header.length);
  const view = new DataView(prefix.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, header.length, true);
  prefix.set(header, PREFIX_BYTES);
  return prefix;
}

// Replaces the stored snapshot (of whatever key) with this one.
export async function write(key, bytes, digest) {
  const prefix = encode(key, bytes, digest);
  const partial = await fileHandle(PARTIAL, true);
  if (syncAccess(partial)) {
    const access = await partial.createSyncAccessHandle();
    try {
      access.truncate(0);
      access.write(prefix, { at: 0 });
      access.write(bytes, { at: prefix.length });
      access.flush();
    } finally {
      access.close();
    }
  } else {
    const writable = await partial.createWritable();
    await writable.write(prefix);
    await writable.write(bytes);
    await writable.close();
  }
  await partial.move(FILE);
}

export async function remove(key) {
  const handle = await fileHandle(FILE);
  if (!handle) return;
  const stored = await reading(handle, readHeader).catch(() => null);
  if (!stored || stored.key === key) await (await folder()).removeEntry(FILE);
}

// [{key, bytes (length), digest}] of the stored snapshot (none or one).
export async function list() {
  const handle = await fileHandle(FILE);
  if (!handle) return [];
  const header = await reading(handle, readHeader);
  return header ? [{ key: header.key, bytes: header.length, digest: String(header.digest) }] : [];
}
