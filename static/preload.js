// Started by the page's first script (app.js) while the model worker's own modules are
// still loading, and handed to the worker as {type: "preload", ...} messages:
// - Pyodide's wasm, fetched and compiled as it streams in (the longest part of a start
//   from a memory snapshot): {type: "preload", wasm: WebAssembly.Module | null (the
//   compile failed: the worker compiles it itself)}; `page_preload` in the init config
//   tells the worker to wait for it (python_boot.js preload()).
// - On a first visit, the memory snapshot the server offers (`served_snapshot`), when
//   this browser keeps none under its key and its engine traits are this browser's:
//   {type: "preload", snapshot: ArrayBuffer (transferred) | null (not downloaded: the
//   worker decides and fetches itself)}; `page_snapshot` in the config says one comes.
//   The worker checks its key and digest as for any served snapshot (snapshot_served.js).

export function preloadFor(worker, config) {
  let preloaded = config;
  if (typeof WebAssembly?.compileStreaming === "function") {  // else the worker tries
    WebAssembly.compileStreaming(fetch(`${config.pyodide_base_url}pyodide.asm.wasm`)).then(
      (module) => worker.postMessage({ type: "preload", wasm: module }),
      () => worker.postMessage({ type: "preload", wasm: null }));
    preloaded = { ...preloaded, page_preload: true };
  }
  if (config.served_snapshot) {
    servedUnlessStored(config).then(
      (buffer) => worker.postMessage({ type: "preload", snapshot: buffer }, buffer ? [buffer] : []),
      () => worker.postMessage({ type: "preload", snapshot: null }));
    preloaded = { ...preloaded, page_snapshot: true };
  }
  return preloaded;
}

// The served snapshot's bytes, or null when this browser has its own under that key, or
// its engine differs (the worker then refuses it), or the store cannot be read from here.
async function servedUnlessStored(config) {
  const served = config.served_snapshot;
  const [{ engineTraits }, opfs] = await Promise.all([
    import("./engine_traits.js"), import("./snapshot_opfs.js")]);
  if (served.key.split("|")[1] !== engineTraits() || !opfs.offered()) return null;
  const kept = await opfs.list();  // throws where OPFS is refused: the worker decides
  if (kept.some((entry) => entry.key === served.key)) return null;
  const response = await fetch(served.url);
  return response.ok ? response.arrayBuffer() : null;
}
