"""Pyodide's wasm is read from the start of the page (a <link rel=preload> in the template)
and the page's own compile (static/preload.js) takes that download rather than a second
one: the browser's resource timing of the page holds one entry for the wasm, the
preload's, read over the network on a first visit and from the HTTP cache on the next."""

from __future__ import annotations

import pytest

from tests.startup.conftest import open_visit, serve

pytestmark = pytest.mark.browser

_WASM_ENTRIES = """() => performance.getEntriesByType('resource')
  .filter((entry) => entry.name.endsWith('/pyodide.asm.wasm'))
  .map((entry) => ({initiator: entry.initiatorType, transferred: entry.transferSize,
                    body: entry.decodedBodySize}))"""


def test_the_pages_wasm_compile_takes_the_documents_preload(site_root, context):
    with serve(site_root) as url:
        first = open_visit(context, url + "/")
        on_first = first.page.evaluate(_WASM_ENTRIES)
        first.page.close()
        second = open_visit(context, url + "/")
        on_second = second.page.evaluate(_WASM_ENTRIES)
    assert [entry["initiator"] for entry in on_first] == ["link"], on_first
    assert on_first[0]["body"] > 9_000_000 and on_first[0]["transferred"] > 0, on_first
    assert [entry["initiator"] for entry in on_second] == ["link"], on_second
    assert on_second[0]["transferred"] == 0, on_second  # the HTTP cache's copy
