// Pyodide (Emscripten's addFunction) puts each JS function it hands to C into the wasm
// table through a tiny wasm module of its own: `new WebAssembly.Module(bytes)`, compiled
// synchronously, one per function, though its bytes depend only on the function's
// signature: ~260 per start, from 29 distinct byte strings (Pyodide 314.0.7). A
// Module is immutable and instantiates any number of times, so the same bytes get the
// same Module here: one compile per signature. worker.js calls shareSmallModules() before
// it imports pyodide.asm.mjs. Modules over SMALL_MODULE_BYTES (Pyodide's own wasm, a package's
// shared library) are not kept.

const SMALL_MODULE_BYTES = 256;

function smallBytes(source) {
  if (source instanceof Uint8Array) return source.byteLength <= SMALL_MODULE_BYTES ? source : null;
  if (source instanceof ArrayBuffer && source.byteLength <= SMALL_MODULE_BYTES) return new Uint8Array(source);
  return null;
}

// `wasm`: the WebAssembly namespace whose Module is wrapped (a test's own object).
export function shareSmallModules(wasm = WebAssembly) {
  if (wasm.Module.sharesSmallModules) return;
  const compiled = new Map();  // the bytes, as a string -> their Module
  const stats = { asked: 0, compiled: 0 };  // small modules asked for, and compiled
  wasm.Module = new Proxy(wasm.Module, {
    construct(Module, args, newTarget) {
      const bytes = args.length === 1 && newTarget === wasm.Module ? smallBytes(args[0]) : null;
      if (!bytes) return Reflect.construct(Module, args, newTarget);
      const key = String.fromCharCode.apply(null, bytes);
      stats.asked += 1;
      let module = compiled.get(key);
      if (!module) {
        module = new Module(bytes);
        compiled.set(key, module);
        stats.compiled += 1;
      }
      return module;
    },
    get(Module, name) {
      if (name === "sharesSmallModules") return true;
      return name === "smallModuleStats" ? { ...stats } : Reflect.get(Module, name);
    },
  });
}
