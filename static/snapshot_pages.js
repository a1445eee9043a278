// A memory snapshot with its all-zero pages left out: the form in which the browser keeps
// it (snapshot_store.js) and the server serves it (server/served_snapshot.py). Pyodide's
// snapshot is its whole 30 MiB heap, of which ~13 MB, in ~15 runs of pages, is not zero:
// the packed form is read from disk, downloaded, decompressed and checked at that size.
//
//   "SNZ1" | uint32 LE unpacked length | uint32 LE run count N
//   | N x (uint32 LE byte offset, uint32 LE byte length) | the runs' bytes, in order
//
// Runs are whole PAGE_BYTES pages (the last one may end at the unpacked length), in
// increasing order, not overlapping; every byte outside them is zero.

export const PACKED_MAGIC = 0x315a4e53;  // "SNZ1" read as a little-endian uint32
export const PAGE_BYTES = 4096;
const HEADER_BYTES = 12;
const RUN_BYTES = 8;

export function isPacked(bytes) {
  return bytes.byteLength >= HEADER_BYTES
    && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) === PACKED_MAGIC;
}

// True when bytes[start, end) is all zero (4 bytes at a time where aligned).
function zero(bytes, start, end) {
  if ((bytes.byteOffset + start) % 4 === 0 && (end - start) % 4 === 0) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset + start, (end - start) / 4);
    for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
    return true;
  }
  for (let i = start; i < end; i++) if (bytes[i] !== 0) return false;
  return true;
}

// [[offset, length]] of the runs of pages of `bytes` that are not all zero.
function nonZeroRuns(bytes) {
  const runs = [];
  let open = null;
  for (let start = 0; start < bytes.byteLength; start += PAGE_BYTES) {
    const end = Math.min(start + PAGE_BYTES, bytes.byteLength);
    if (zero(bytes, start, end)) {
      open = null;
    } else if (open) {
      open[1] = end - open[0];
    } else {
      open = [start, end - start];
      runs.push(open);
    }
  }
  return runs;
}

export function packPages(bytes) {
  const runs = nonZeroRuns(bytes);
  const payload = runs.reduce((sum, [, length]) => sum + length, 0);
  const header = HEADER_BYTES + RUN_BYTES * runs.length;
  const packed = new Uint8Array(header + payload);
  const view = new DataView(packed.buffer);
  view.setUint32(0, PACKED_MAGIC, true);
  view.setUint32(4, bytes.byteLength, true);
  view.setUint32(8, runs.length, true);
  let at = header;
  runs.forEach(([offset, length], i) => {
    view.setUint32(HEADER_BYTES + RUN_BYTES * i, offset, true);
    view.setUint32(HEADER_BYTES + RUN_BYTES * i + 4, length, true);
    packed.set(bytes.subarray(offset, offset + length), at);
    at += length;
  });
  return packed;
}

// {length: the unpacked length, runs: [[offset, length, at (where its bytes start in
// `packed`)]]}; throws on a packed form that does not add up (the caller's digest check
// refuses a damaged one first; this guards the copies).
function runsOf(packed) {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  if (!isPacked(packed)) throw new Error("not a packed snapshot (no SNZ1 magic)");
  const length = view.getUint32(4, true);
  const count = view.getUint32(8, true);
  if (HEADER_BYTES + RUN_BYTES * count > packed.byteLength) {
    throw new Error(`packed snapshot: ${count} runs do not fit its ${packed.byteLength} bytes`);
  }
  let at = HEADER_BYTES + RUN_BYTES * count;
  const runs = [];
  let previousEnd = 0;
  for (let i = 0; i < count; i++) {
    const offset = view.getUint32(HEADER_BYTES + RUN_BYTES * i, true);
    const runLength = view.getUint32(HEADER_BYTES + RUN_BYTES * i + 4, true);
    if (offset < previousEnd || offset + runLength > length || at + runLength > packed.byteLength) {
      throw new Error(`packed snapshot: run ${i} (${offset}+${runLength}) is out of place`);
    }
    runs.push([offset, runLength, at]);
    at += runLength;
    previousEnd = offset + runLength;
  }
  if (at !== packed.byteLength) throw new Error(`packed snapshot: ${packed.byteLength - at} bytes left over`);
  return { length, runs };
}

export function unpackedLength(packed) {
  return runsOf(packed).length;
}

// Bytes [start, start + target.length) of the snapshot `packed` was made from, written
// into `target` whatever it held: the runs copied, every byte between them zeroed. One
// pass over the target (Pyodide's heap, python_boot.js), where unpacking first and
// copying the whole after touched a 30 MiB buffer more.
export function unpackInto(packed, target, start = 0) {
  const { length, runs } = runsOf(packed);
  const end = start + target.length;
  if (end > length) throw new Error(`packed snapshot: bytes up to ${end} asked of ${length}`);
  let written = start;
  for (const [offset, runLength, at] of runs) {
    const from = Math.max(offset, start);
    const to = Math.min(offset + runLength, end);
    if (to <= from) continue;
    if (from > written) target.fill(0, written - start, from - start);
    target.set(packed.subarray(at + from - offset, at + to - offset), from - start);
    written = to;
  }
  if (written < end) target.fill(0, written - start);
}
