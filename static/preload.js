// Started by the page's first script (app.js) while the model worker's own modules are
// still loading: Pyodide's wasm, fetched and compiled as it streams in (the longest part
// of a start from a memory snapshot). The public module (shadernet.mjs, option `wasm`)
// hands the module to the worker as one message {type: "preload", wasm: WebAssembly.Module
// | null (the compile failed: the worker compiles it itself)} (python_boot.js preload()).

export function compilePyodide(config) {
  if (typeof WebAssembly?.compileStreaming !== "function") return null;  // the worker compiles it
  return WebAssembly.compileStreaming(fetch(`${config.pyodide_base_url}pyodide.asm.wasm`))
    .catch(() => null);
}
