"""A repeat visit while the server is down: the service worker's shell, the start-up model
from the HTTP cache (a pinned URL), so the page classifies, and the reason the rest is out."""

from __future__ import annotations

import pytest

from tests.startup.conftest import open_visit, serve
from tests.support.page_driver import draw

pytestmark = pytest.mark.browser


def test_with_the_server_down_a_repeat_visit_shows_the_shell_and_says_why(site_root, context):
    with serve(site_root) as url:
        first = open_visit(context, url + "/")
        first.page.evaluate("() => navigator.serviceWorker.ready")
        first.page.close()
        # The second visit is the first one the service worker controls.
        second = open_visit(context, url + "/")
        assert second.page.evaluate("() => navigator.serviceWorker.controller !== null")
        # Only the navigation passes through the service worker: the page's files are routed
        # past it (static routing), straight to the HTTP cache, in the page and its worker.
        # The page is the bundle (make setup bundles static/: server/page_bundle.py).
        routed = second.page.evaluate("""() => performance.getEntriesByType('resource')
          .filter((e) => /[/]static[/][vb][/]/.test(e.name))
          .map((e) => [e.name.split('/').slice(-3).join('/'), e.workerMatchedSourceType])""")
        bundled = [name for name, _ in routed if name.startswith("b/")]
        assert any(name.endswith("/app.js") for name in bundled), routed
        assert any(name.endswith("/worker.js") for name in bundled), routed
        assert len(routed) >= 8, routed
        # The worker's module fetches report no router source (""): no fetch event either.
        assert all(source == "network" for name, source in routed if name.endswith("/app.js")), routed
        assert {source for _, source in routed} <= {"network", ""}, [
            r for r in routed if r[1] not in ("network", "")]
        second.page.close()
    page = context.new_page()  # the server is stopped now: nothing answers on its port
    page.goto(url + "/")
    status = page.get_by_test_id("status")
    page.wait_for_function(
        "() => /unreachable/.test(document.querySelector('[data-testid=status]').textContent)",
        timeout=60_000)
    assert status.text_content().startswith("Ready"), status.text_content()
    assert "the model list did not load" in status.text_content()
    canvas = page.get_by_test_id("canvas").bounding_box()
    assert canvas["width"] >= 300 and canvas["height"] >= 300
    # Styled, not bare HTML: the stylesheet came from the kept shell too.
    assert page.evaluate("() => [...document.styleSheets].some((s) => s.cssRules.length > 20)")
    assert page.get_by_test_id("prob-0").is_visible()
    draw(page, [[(0.5, 0.15), (0.5, 0.85)]])  # a "1", classified offline
    page.wait_for_function("() => document.querySelector('[data-testid=prediction]')"
                           "?.textContent.trim() === '1'", timeout=30_000)
