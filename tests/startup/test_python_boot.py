"""static/python_boot.js: a snapshot of a heap grown past Pyodide's initial 30 MiB restores,
as Pyodide made it and packed (static/snapshot_pages.js, the form the page keeps), and the
restored interpreter imports from the stdlib zip (written in only after the restore)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

HEAP_MIB = 48
GROWN_HEAP = f"""async () => {{
  const {{ loadPyodide }} = await import('/node_modules/pyodide/pyodide.mjs');
  const {{ restorePyodide }} = await import('/static/python_boot.js');
  const {{ packPages }} = await import('/static/snapshot_pages.js');
  const indexURL = '/node_modules/pyodide/';
  const maker = await loadPyodide({{ indexURL, _makeSnapshot: true }});
  maker.runPython('kept = bytes(range(256)) * ({HEAP_MIB} * 4096)');
  const bytes = maker.makeMemorySnapshot();
  const packed = packPages(bytes);
  const check = 'len(kept) == {HEAP_MIB} * 2**20 and kept[257] == 1 and kept[-1] == 255';
  const restored = await restorePyodide(loadPyodide, {{ indexURL }}, bytes);
  const unpacked = await restorePyodide(loadPyodide, {{ indexURL }}, packed);
  return {{
    snapshot_mib: bytes.length / 2 ** 20, packed_mib: packed.length / 2 ** 20,
    kept: [restored.runPython(check), unpacked.runPython(check)],
    works: [restored.runPython('sum(range(10))'), unpacked.runPython('sum(range(10))')],
    imports: [restored, unpacked].map((python) => python.runPython(
      'import sys, fractions; ("fractions" in sys.modules, str(fractions.Fraction(2, 6)))').toJs()),
  }};
}}"""


def test_a_snapshot_bigger_than_the_initial_heap_restores(browser, static_server):
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{static_server.url}/tests/startup/blank.html")
        result = page.evaluate(GROWN_HEAP)
    finally:
        context.close()
    assert result["snapshot_mib"] > HEAP_MIB > 30
    assert result["packed_mib"] < result["snapshot_mib"]
    assert result["kept"] == [True, True] and result["works"] == [45, 45]
    assert result["imports"] == [[True, "1/3"], [True, "1/3"]]


# A restored interpreter starts on an empty stdlib zip (static/stdlib_deferred.js): an
# import right after the restore reads the real one synchronously (one XHR), an import a
# moment later finds the one fetched meanwhile (no XHR); both import the same.
DEFERRED_STDLIB = """async () => {
  const { loadPyodide } = await import('/node_modules/pyodide/pyodide.mjs');
  const { restorePyodide } = await import('/static/python_boot.js');
  const { packPages } = await import('/static/snapshot_pages.js');
  const indexURL = '/node_modules/pyodide/';
  const maker = await loadPyodide({ indexURL, _makeSnapshot: true });
  const packed = packPages(maker.makeMemorySnapshot());
  const check = 'import fractions, statistics; (str(fractions.Fraction(2, 6)), statistics.median([3, 1, 2]))';
  const xhrs = () => performance.getEntriesByType('resource').filter(
    (entry) => entry.initiatorType === 'xmlhttprequest' && entry.name.includes('python_stdlib')).length;
  const early = (await restorePyodide(loadPyodide, { indexURL }, packed)).runPython(check).toJs();
  const afterEarly = xhrs();
  const late = await restorePyodide(loadPyodide, { indexURL }, packed);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return { early, afterEarly, late: late.runPython(check).toJs(), afterLate: xhrs() };
}"""


def test_a_restored_interpreter_imports_from_the_stdlib_before_and_after_it_arrives(
        browser, static_server):
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{static_server.url}/tests/startup/blank.html")
        result = page.evaluate(DEFERRED_STDLIB)
    finally:
        context.close()
    assert result["early"] == ["1/3", 2] and result["late"] == ["1/3", 2]
    assert result["afterEarly"] == 1 and result["afterLate"] == 1, result
