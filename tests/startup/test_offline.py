"""A repeat visit while the server is down: the service worker's shell, and the reason."""

from __future__ import annotations

import pytest

from tests.startup.conftest import open_visit, serve

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
        routed = second.page.evaluate("""() => performance.getEntriesByType('resource')
          .filter((e) => e.name.includes('/static/v/'))
          .map((e) => [e.name.split('/').pop(), e.workerMatchedSourceType])""")
        assert len(routed) >= 20, routed
        # The worker's module fetches report no router source (""): no fetch event either.
        assert dict(routed)["app.js"] == "network", routed
        assert {source for _, source in routed} <= {"network", ""}, [
            r for r in routed if r[1] not in ("network", "")]
        second.page.close()
    page = context.new_page()  # the server is stopped now: nothing answers on its port
    page.goto(url + "/")
    status = page.get_by_test_id("status")
    page.wait_for_function(
        "() => /unreachable/.test(document.querySelector('[data-testid=status]').textContent)",
        timeout=60_000)
    assert status.text_content().startswith("Could not start: The server is unreachable")
    canvas = page.get_by_test_id("canvas").bounding_box()
    assert canvas["width"] >= 300 and canvas["height"] >= 300
    # Styled, not bare HTML: the stylesheet came from the kept shell too.
    assert page.evaluate("() => [...document.styleSheets].some((s) => s.cssRules.length > 20)")
    assert page.get_by_test_id("prob-0").is_visible()
