// Pyodide restored from a memory snapshot, with room for the heap the snapshot holds.
//
// Pyodide's wasm starts with a fixed 30 MiB memory and `_loadSnapshot` copies the snapshot
// over it: a snapshot of a heap that had grown past that fails with "RangeError: offset
// is out of bounds" (Pyodide issue 6254). So the module is created here, from the same
// pyodide.asm.mjs `loadPyodide` would import, and once its runtime is initialised (before
// the snapshot is copied in) one malloc + free of the snapshot's size grows the memory
// past it (the block ends beyond `size`, wherever the allocator puts it), through
// Emscripten's own resize, which keeps its views of the heap current.

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
