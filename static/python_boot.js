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

import { engineTraits } from "./engine_traits.js";
import { isPacked, packPages, unpackInto, unpackedLength } from "./snapshot_pages.js";
import { EMPTY_ZIP, writeStdlibLater } from "./stdlib_deferred.js";
import * as snapshots from "./snapshot_store.js";

// What runs before the memory snapshot: our imports, and every shader template read into
// codegen's cache, so a restored interpreter needs no file to load the model (the wheel's
// files are unpacked again only after "Ready"). Part of the snapshot's key: a change here
// (or in the files) never restores a snapshot made by other code.
export const SNAPSHOT_PREPARE = `
import webgl_backend.model_sessions, webgl_backend.context
from importlib.resources import files
from webgl_backend.codegen import load_template
for template in (files("webgl_backend") / "shaders").iterdir():
    if template.name.endswith(".glsl"):
        load_template(template.name[:-5])
`;

// The key a snapshot for this page's start-up files and this engine (engine_traits.js) is
// stored under, or null when the server gave none (snapshot_store.js); a snapshot the
// server offers is used only under the same key (snapshot_served.js).
export function snapshotKey(config) {
  return config.startup_key ? `${config.startup_key}|${engineTraits()}|${SNAPSHOT_PREPARE}` : null;
}

// After a restore: what the snapshot cannot hold. The file system is new (the wheel is
// unpacked again), `random` would replay the snapshot's state on every visit, and the
// time zone is the snapshot maker's until `time.tzset()` asks this browser again.
export const RESEED = `import random, time
random.seed()
if hasattr(time, "tzset"):
    time.tzset()`;

function growHeapTo(module, size) {
  if (module.HEAP8.length < size) module._free(module._malloc(size));
}

// Started at worker start, before anything waits on them: Pyodide's wasm, fetched and
// compiled as it streams in (unless `compiled`, a promise of the module compiled by the
// page, resolves to it), its lock file and its stdlib zip. loadPyodide would start them
// only once it is called, after the stored snapshot has been read; this way the compile
// (the longest part of a restore), the stdlib's download and the read overlap.
// `options`: loadPyodide's (indexURL, stdLibURL).
export function preload(options, compiled = null) {
  const { indexURL } = options;
  // (A promise even where compileStreaming is missing: loadPyodide then fails as before.)
  const compile = async () => WebAssembly.compileStreaming(fetch(`${indexURL}pyodide.asm.wasm`));
  const wasm = compiled ? compiled.then((module) => module || compile()) : compile();
  const lock = fetch(`${indexURL}pyodide-lock.json`).then((response) => {
    if (!response.ok) throw new Error(`HTTP ${response.status} for pyodide-lock.json`);
    return response.text();
  });
  const stdlibUrl = new URL(options.stdLibURL ?? `${indexURL}python_stdlib.zip`, location.href).href;
  const response = fetch(stdlibUrl);
  wasm.catch(() => {});  // loadPyodide then compiles it itself
  lock.catch(() => {});
  response.catch(() => {});  // loadPyodide then fetches it itself
  return { indexURL, wasm, lock, stdlib: { url: stdlibUrl, response } };
}

// While loadPyodide sets up its Emscripten settings (before it creates the module), it
// fetches its stdlib zip and its wasm: from now until then, those two requests are
// answered from `preloaded` instead. The stdlib gets the response preload() started, once
// (a later loadPyodide fetches the zip from the HTTP cache); the wasm, once the module is
// compiled, an empty response (instantiatePreloaded never reads it), not a second read of
// 9.6 MB that would compete with the stdlib's; only if the compile failed, a real fetch.
// Restoring (`deferStdlib`), the stdlib's request gets an empty zip, and the real one is
// written in later (stdlib_deferred.js).
// Returns the function that puts `fetch` back.
function answerFromPreload(preloaded, deferStdlib) {
  const original = self.fetch;
  const stdlib = preloaded.stdlib;
  const wasmUrl = new URL(`${preloaded.indexURL}pyodide.asm.wasm`, location.href).href;
  const restore = () => { if (self.fetch === hooked) self.fetch = original; };
  const hooked = function (input, init) {
    const url = new URL(String(input), location.href).href;
    const fetchIt = () => original.call(self, input, init);
    if (stdlib && url === stdlib.url) {
      preloaded.stdlib = null;
      if (deferStdlib) {
        preloaded.stdlibAfterRestore = stdlib;
        return Promise.resolve(new Response(EMPTY_ZIP));
      }
      return stdlib.response.catch(fetchIt);
    }
    if (url === wasmUrl) return preloaded.wasm.then(() => new Response(null), fetchIt);
    return original.call(this, input, init);
  };
  self.fetch = hooked;
  return restore;
}

// Pyodide's instantiateWasm (set in its Emscripten settings) adds two imports of its own,
// then calls WebAssembly.instantiateStreaming on its own fetch of the wasm (answered by
// answerFromPreload): for that one call, the module compiled by preload() is instantiated
// instead. If the early compile failed, Pyodide's path runs as usual.
function instantiatePreloaded(compiled) {
  const original = WebAssembly.instantiateStreaming;
  WebAssembly.instantiateStreaming = async (source, imports) => {
    WebAssembly.instantiateStreaming = original;
    let module;
    try {
      module = await compiled;
    } catch (_) {
      return original.call(WebAssembly, source, imports);
    }
    return { module, instance: await WebAssembly.instantiate(module, imports) };
  };
}

// Pyodide's restoreSnapshot(bytes) checks the snapshot's header (magic, build id, its
// JSON) and copies what follows it over the heap in one HEAP8.set. From a packed snapshot
// (snapshot_pages.js) it is given the header alone, and its heap is unpacked straight into
// the module's memory, once: unpacking first and copying after took ~50 + ~50 ms of the
// worker's start in a profile, through a 30 MiB buffer made for nothing else.
function restoreFromPacked(module, packed) {
  const restore = module.API.restoreSnapshot;
  module.API.restoreSnapshot = (header) => {
    module.API.restoreSnapshot = restore;
    const config = restore(header);  // its HEAP8.set copies nothing: there is no heap after it
    const length = unpackedLength(packed);
    unpackInto(packed, module.HEAPU8.subarray(0, length - header.byteLength), header.byteLength);
    return config;
  };
  return module;
}

// The bytes of a packed snapshot that precede its heap: Pyodide's header, whose second
// 32-bit word is where the heap starts.
function pyodideHeader(packed) {
  const first = new Uint8Array(8);
  unpackInto(packed, first, 0);
  const heapStart = new DataView(first.buffer).getUint32(4, true);
  if (heapStart < 8 || heapStart > unpackedLength(packed)) {
    throw new Error(`snapshot header: the heap starts at ${heapStart}, outside the snapshot`);
  }
  const header = new Uint8Array(heapStart);
  unpackInto(packed, header, 0);
  return header;
}

// loadPyodide's options for `preloaded` (preload's answer); with `heapSize`, a module
// whose memory is grown to it before a snapshot of that size is copied in (see above),
// from `packed` when given (restoreFromPacked). `mark(name)` is called once the wasm is
// instantiated ("wasm").
async function loadOptions(preloaded, options, heapSize, mark, packed = null) {
  const { default: createPyodideModule } = await import(`${preloaded.indexURL}pyodide.asm.mjs`);
  const create = (settings) => {
    const instantiate = settings.instantiateWasm;
    if (instantiate) {  // Pyodide's debug builds leave instantiation to Emscripten
      settings.instantiateWasm = (imports, done) => {
        instantiatePreloaded(preloaded.wasm);
        return instantiate(imports, (instance, module) => { mark("wasm"); done(instance, module); });
      };
    }
    if (heapSize) settings.onRuntimeInitialized = () => growHeapTo(settings, heapSize);
    stopHook();
    const module = createPyodideModule(settings);
    return packed ? module.then((created) => restoreFromPacked(created, packed)) : module;
  };
  const stopHook = answerFromPreload(preloaded, heapSize > 0);
  return { ...options, indexURL: preloaded.indexURL, lockFileContents: preloaded.lock,
           packageBaseUrl: preloaded.indexURL, createPyodideModule: create };
}

// `options`: loadPyodide's (indexURL is required); `bytes`: a snapshot (Uint8Array),
// packed (snapshot_pages.js) or as Pyodide made it; `preloaded`: preload(options)'s
// answer, made here when not given.
export async function restorePyodide(loadPyodide, options, bytes, preloaded = null,
                                     mark = () => {}) {
  const packed = isPacked(bytes) ? bytes : null;
  // Read (and refused, if it does not add up) before loadOptions hooks `fetch`.
  const snapshot = packed ? pyodideHeader(packed) : bytes;
  const files = preloaded || preload(options);
  const ready = await loadOptions(files, options,
                                  packed ? unpackedLength(packed) : bytes.byteLength, mark, packed);
  let python = null;
  const stdlib = () => { const kept = files.stdlibAfterRestore; files.stdlibAfterRestore = null; return kept; };
  try {
    python = await loadPyodide({ ...ready, _loadSnapshot: snapshot });
  } catch (error) {
    files.stdlib = stdlib() || files.stdlib;  // for the normal start that follows
    throw error;
  }
  const deferred = stdlib();
  if (deferred) writeStdlibLater(python, deferred);
  return python;
}

// Pyodide from `stored` (snapshot_store.readSnapshot's or snapshot_served.fetchServed's
// answer) when it holds bytes, else a normal start, both from `preloaded` (preload's
// answer). Any failure of the snapshot path costs only time: a corrupt record or download
// (its digest is checked while Python restores), a refused restore. `events.stage(name,
// message)` reports progress, `events.mark(name)` marks "wasm" (instantiated) and
// "restore" (restored and checked); resolves to {python, restored, snapshot: what
// happened, in words}.
export async function bootPython(loadPyodide, options, preloaded, key, stored, events) {
  let snapshot;
  if (stored.bytes) {
    const served = stored.source === "served";
    events.stage("restore", served ? "Restoring Python from the server's snapshot…"
                                   : "Restoring Python from this browser's snapshot…");
    try {
      const python = await restorePyodide(loadPyodide, options, stored.bytes, preloaded,
                                          events.mark);
      snapshot = await stored.check;
      if (!snapshot) {
        events.mark("restore");
        return { python, restored: true, snapshot: served ? "restored (served)" : "restored" };
      }
    } catch (error) {
      snapshot = `restore failed: ${error.message || error}`;
      if (!served) await snapshots.deleteSnapshot(key);
    }
    console.warn(`shadernet: snapshot not used (${snapshot}); starting Python normally`);
  } else {
    snapshot = stored.reason === "none" ? "none stored" : stored.reason;
  }
  events.stage("python", "Starting Python…");
  const python = await loadPyodide(await loadOptions(preloaded, options, 0, events.mark));
  return { python, restored: false, snapshot };
}

export function unpackWheel(python, wheel) {
  // site-packages from sys.path (sys is loaded already; sysconfig would be one more import).
  const purelib = python.runPython(
    "import sys; next(p for p in sys.path if p.endswith('site-packages'))");
  python.unpackArchive(wheel, "wheel", { extractDir: purelib });
}

// A second interpreter, started only to be snapshotted right after SNAPSHOT_PREPARE,
// before any JS object is held by Python (the page's own interpreter holds its GL
// context), then stored under `key`, packed (snapshot_pages.js). Run after "Ready" and
// the warm-up, so the page's interpreter runs without the snapshot mode's bookkeeping of
// JS globals. Resolves to {stored, bytes (packed length), error}.
export async function makeSnapshot(loadPyodide, options, preloaded, key, wheel) {
  let bytes = null;
  let error = null;
  try {
    const maker = await loadPyodide({ ...(await loadOptions(preloaded, options, 0, () => {})),
                                      _makeSnapshot: true });
    unpackWheel(maker, wheel);
    maker.runPython(SNAPSHOT_PREPARE);
    bytes = packPages(maker.makeMemorySnapshot());
    error = await snapshots.writeSnapshot(key, bytes);
  } catch (failure) {
    error = failure.message || String(failure);
  }
  if (error) console.warn(`shadernet: no memory snapshot stored (${error})`);
  return { stored: error === null, bytes: bytes ? bytes.byteLength : 0, error };
}
