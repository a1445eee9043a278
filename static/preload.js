// Started by the page's first script (app.js) while the model worker's own modules are
// still loading; the public module (shadernet.mjs) hands both to the worker as
// {type: "preload", ...} messages:
// - Pyodide's wasm, fetched and compiled as it streams in (the longest part of a start
//   from a memory snapshot): option `wasm`, message {wasm: WebAssembly.Module | null (the
//   compile failed: the worker compiles it itself)} (python_boot.js preload()).
// - On a first visit, the memory snapshot the server offers (`served_snapshot`), when
//   this browser keeps none under its key and its engine traits are this browser's:
//   option `snapshot`, message {snapshot: ArrayBuffer (transferred) | null (not
//   downloaded: the worker decides and fetches itself)}. The worker checks its key and
//   digest as for any served snapshot (snapshot_served.js).

import { engineTraits } from "./engine_traits.js";
import * as opfs from "./snapshot_opfs.js";

export function compilePyodide(config) {
  if (typeof WebAssembly?.compileStreaming !== "function") return null;  // the worker compiles it
  return WebAssembly.compileStreaming(fetch(`${config.pyodide_base_url}pyodide.asm.wasm`))
    .catch(() => null);
}

// The served snapshot's bytes, or null when the server offers none, this browser has its
// own under that key, its engine differs (the worker then refuses it), or the store
// cannot be read from here.
export async function downloadServedSnapshot(config) {
  const served = config.served_snapshot;
  if (!served) return null;
  try {
    if (served.key.split("|")[1] !== engineTraits() || !opfs.offered()) return null;
    const kept = await opfs.list();  // throws where OPFS is refused: the worker decides
    if (kept.some((entry) => entry.key === served.key)) return null;
    const response = await fetch(served.url);
    return response.ok ? await response.arrayBuffer() : null;
  } catch (_) {
    return null;
  }
}
