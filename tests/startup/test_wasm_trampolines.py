"""static/wasm_trampolines.js in a real browser: modules of the same small bytes are
compiled once and shared, each instance still calls its own import; what differs, what
is large and what does not compile is left to WebAssembly itself. (That the drawing page
shares Pyodide's trampolines, and a page started so predicts exactly as before:
test_snapshot.py.)"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

# Each case on its own wrapped namespace ({Module}), the page's WebAssembly left alone.
# trampoline(params, result) builds the bytes as Emscripten's convertJsFunctionToWasm
# does: one imported function e.f of that signature, exported as f.
CASES = """async () => {
  const { shareSmallModules } = await import('/static/wasm_trampolines.js');
  const codes = { i: 127, d: 124 };
  const withLength = (items) => [items.length % 128 | 128, items.length >> 7, ...items];
  const pack = (types) => withLength(Array.from(types, (t) => codes[t]));
  const trampoline = (params, result, custom = 0) => Uint8Array.of(
    0, 97, 115, 109, 1, 0, 0, 0,
    1, ...withLength([1, 96, ...pack(params), ...pack(result)]),
    2, 7, 1, 1, 101, 1, 102, 0, 0, 7, 5, 1, 1, 102, 0, 0,
    ...(custom ? [0, ...withLength([1, 120, ...new Array(custom).fill(7)])] : []));
  const ns = { Module: WebAssembly.Module };
  shareSmallModules(ns);
  shareSmallModules(ns);  // a second call wraps nothing twice
  const ii = trampoline('i', 'i');
  const first = new ns.Module(ii);
  const again = new ns.Module(ii.slice());
  const fromBuffer = new ns.Module(ii.slice().buffer);
  const call = (module, f) => new WebAssembly.Instance(module, { e: { f } }).exports.f(20);
  const other = new ns.Module(trampoline('dd', 'd'));
  const big = trampoline('i', 'i', 300);
  let refused = null;
  try { new ns.Module(Uint8Array.of(0, 97, 115, 109, 9, 0, 0, 0)); } catch (e) { refused = e.name; }
  return {
    shared: first === again && again === fromBuffer,
    own_imports: [call(first, (x) => x + 1), call(again, (x) => x * 2)],
    is_module: first instanceof WebAssembly.Module && first instanceof ns.Module,
    exports: WebAssembly.Module.exports(first).map((e) => e.name + ':' + e.kind),
    other_signature: other !== first,
    big_bytes: big.length,
    big_not_shared: new ns.Module(big) !== new ns.Module(big),
    refused,
    refused_twice: (() => { try { new ns.Module(Uint8Array.of(1)); } catch (e) { return e.name; } })(),
    stats: ns.Module.smallModuleStats,
    page_untouched: WebAssembly.Module.smallModuleStats === undefined,
  };
}"""


def test_small_modules_of_the_same_bytes_are_compiled_once_and_instantiate_apart(blank_page):
    result = blank_page.evaluate(CASES)
    assert result["shared"]
    assert result["own_imports"] == [21, 40]
    assert result["is_module"] and result["exports"] == ["f:function"]
    assert result["other_signature"]
    assert result["big_bytes"] > 256 and result["big_not_shared"]
    assert result["refused"] == "CompileError" and result["refused_twice"] == "CompileError"
    # asked: the three of ii, the other signature, the two refused; compiled: two
    assert result["stats"] == {"asked": 6, "compiled": 2}
    assert result["page_untouched"]
