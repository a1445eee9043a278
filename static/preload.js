// Started by the page's first script (app.js) while the model worker's own modules are
// still loading: Pyodide's wasm, fetched and compiled as it streams in (the longest part
// of a start from a memory snapshot). The module goes to the worker as one message
// {type: "preload", wasm: WebAssembly.Module | null (the compile failed: the worker
// compiles it itself)}; `page_preload` in the init config tells the worker to wait for it
// (python_boot.js preload()).

export function preloadFor(worker, config) {
  if (typeof WebAssembly?.compileStreaming !== "function") return config;  // the worker tries
  WebAssembly.compileStreaming(fetch(`${config.pyodide_base_url}pyodide.asm.wasm`)).then(
    (module) => worker.postMessage({ type: "preload", wasm: module }),
    () => worker.postMessage({ type: "preload", wasm: null }));
  return { ...config, page_preload: true };
}
