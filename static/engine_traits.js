// What of the browser's engine a memory snapshot's heap depends on. Pyodide's JS picks, at
// start, JSPI (the new or old API, or none) and whether its wasm-GC call trampoline loads
// (not on iOS), and writes those choices into the heap (a function table index in
// _PyRuntime), which a snapshot then carries. A snapshot served to a first visit was made
// by another browser (server/snapshot_maker.py): it must have made the same choices, so
// these traits are part of every snapshot's key (python_boot.snapshotKey).

// The smallest module with a wasm-GC type (a struct with no fields): valid only with GC.
const GC_STRUCT_MODULE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 3, 1, 0x5f, 0]);

export function engineTraits() {
  const wasm = globalThis.WebAssembly;
  const jspi = !wasm ? "none" : "Suspending" in wasm ? "new" : "Suspender" in wasm ? "old" : "none";
  let gc = false;
  try { gc = Boolean(wasm?.validate(GC_STRUCT_MODULE)); } catch (_) { /* no wasm */ }
  const nav = globalThis.navigator;
  const ios = Boolean(nav && (/iPad|iPhone|iPod/.test(nav.userAgent)
                              || (nav.platform === "MacIntel" && nav.maxTouchPoints > 1)));
  return `jspi=${jspi},gc=${gc ? 1 : 0},ios=${ios ? 1 : 0}`;
}
