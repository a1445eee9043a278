// How the worker gets its Python: restored from the browser's memory snapshot, or started
// from scratch; and the snapshot made, after "Ready", for the next visit.
//
// Restoring: Pyodide's wasm starts with a fixed 30 MiB memory and `_loadSnapshot` copies
// the snapshot over it: a snapshot of a heap that had grown past that fails with
// "RangeError: offset is out of bounds" (Pyodide issue 6254). So the module is created
// here, from the same pyodide.asm.mjs `loadPyodide` would import, and once its runtime is
// initialised (before the snapshot is copied in) one malloc + free of the snapshot's size
// grows the memory past it (the block ends beyond `size`, wherever the allocator puts
// it), through Emscripten's own resize, which keeps its views of the heap current.

import * as snapshots from "./snapshot_store.js";

// What runs before the memory snapshot: our imports, and every shader template read into
// codegen's cache, so a restored interpreter needs no file to load the model (the wheel's
// files are unpacked again only after "Ready"). Part of the snapshot's key: a change here
// (or in the files) never restores a snapshot made by other code.
export const SNAPSHOT_PREPARE = `
import webgl_backend.worker_api, webgl_backend.context
from importlib.resources import files
from webgl_backend.codegen import load_template
for template in (files("webgl_backend") / "shaders").iterdir():
    if template.name.endswith(".glsl"):
        load_template(template.name[:-5])
`;

// After a restore: what the snapshot cannot hold. The file system is new (the wheel is
// unpacked again) and `random` would replay the snapshot's state on every visit.
export const RESEED = "import random; random.seed()";

function growHeapTo(module, size) {
  if (module.HEAP8.length < size) module._free(module._malloc(size));
}

// `options`: loadPyodide's (indexURL is required); `bytes`: a snapshot (Uint8Array).
export async function restorePyodide(loadPyodide, options, bytes) {
  const { default: createPyodideModule } = await import(`${options.indexURL}pyodide.asm.mjs`);
  const createWithRoom = (settings) => {
    settings.onRuntimeInitialized = () => growHeapTo(settings, bytes.byteLength);
    return createPyodideModule(settings);
  };
  return loadPyodide({ ...options, _loadSnapshot: bytes, createPyodideModule: createWithRoom });
}

// Pyodide from `stored` (snapshot_store.readSnapshot's answer) when it holds bytes, else a
// normal start. Any failure of the snapshot path costs only time: a corrupt record (its
// digest is checked while Python restores), a refused restore. `events.stage(name,
// message)` reports progress, `events.restored()` marks a restore; resolves to
// {python, restored, snapshot: what happened, in words}.
export async function bootPython(loadPyodide, options, key, stored, events) {
  let snapshot;
  if (stored.bytes) {
    events.stage("restore", "Restoring Python from this browser's snapshot…");
    try {
      const python = await restorePyodide(loadPyodide, options, stored.bytes);
      snapshot = await stored.check;
      if (!snapshot) {
        events.restored();
        return { python, restored: true, snapshot: "restored" };
      }
    } catch (error) {
      snapshot = `restore failed: ${error.message || error}`;
      await snapshots.deleteSnapshot(key);
    }
    console.warn(`shadernet: snapshot not used (${snapshot}); starting Python normally`);
  } else {
    snapshot = stored.reason === "none" ? "none stored" : stored.reason;
  }
  events.stage("python", "Starting Python…");
  return { python: await loadPyodide(options), restored: false, snapshot };
}

export function unpackWheel(python, wheel) {
  // site-packages from sys.path (sys is loaded already; sysconfig would be one more import).
  const purelib = python.runPython(
    "import sys; next(p for p in sys.path if p.endswith('site-packages'))");
  python.unpackArchive(wheel, "wheel", { extractDir: purelib });
}

// A second interpreter, started only to be snapshotted right after SNAPSHOT_PREPARE,
// before any JS object is held by Python (the page's own interpreter holds its GL
// context), then stored under `key`. Run after "Ready" and the warm-up, so the page's
// interpreter runs without the snapshot mode's bookkeeping of JS globals. Resolves to
// {stored, bytes, error}.
export async function makeSnapshot(loadPyodide, options, key, wheel) {
  let bytes = null;
  let error = null;
  try {
    const maker = await loadPyodide({ ...options, _makeSnapshot: true });
    unpackWheel(maker, wheel);
    maker.runPython(SNAPSHOT_PREPARE);
    bytes = maker.makeMemorySnapshot();
    error = await snapshots.writeSnapshot(key, bytes);
  } catch (failure) {
    error = failure.message || String(failure);
  }
  if (error) console.warn(`shadernet: no memory snapshot stored (${error})`);
  return { stored: error === null, bytes: bytes ? bytes.byteLength : 0, error };
}
