"""The drawing page through our server: it runs under a Content-Security-Policy without
'unsafe-eval' (no violation in the page, and the worker starts Pyodide and the runtime and
classifies), and a lost WebGL context in its worker is told to the person, with a
button that reloads the page back to working."""

from __future__ import annotations


import pytest

from tests.e2e.digits import DIGITS, PLACES, place
from tests.support.live_server import app_serving, live_server
from tests.support.page_driver import DrawingPage, draw

pytestmark = pytest.mark.browser

# Recorded from the first script on: every CSP violation the document sees.
RECORD_VIOLATIONS = """window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) =>
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`));"""

# The page's runtime (the public module app.js started, as app.js exports it: the page
# may be bundled), asked to lose its context as a GPU reset would.
LOSE_CONTEXT = """async () => {
  const entry = document.querySelector("script[type=module][src]").src;
  await (await import(entry)).shadernet.forceContextLoss();
}"""


@pytest.fixture(scope="module")
def served(tmp_path_factory, repo_root):
    root = tmp_path_factory.mktemp("csp-page")
    with live_server(app_serving(repo_root / "models" / "default", root)) as url:
        yield url


def script_src(policy: str) -> list[str]:
    directive = next(d.strip() for d in policy.split(";") if d.strip().startswith("script-src"))
    return directive.split()[1:]


def test_the_page_works_without_unsafe_eval_and_offers_a_reload_when_the_context_is_lost(
        browser, served):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.add_init_script(RECORD_VIOLATIONS)
        policies = []
        page.on("response", lambda r: policies.append(r.headers.get("content-security-policy"))
                if r.url.endswith(("/", "/worker.js")) else None)
        drawing = DrawingPage(page, served + "/")
        assert len(policies) >= 2 and all(
            script_src(p) == ["'self'", "'wasm-unsafe-eval'"] for p in policies), policies
        draw(page, place(DIGITS[7], *PLACES["centre-large"]))
        drawing.wait_settled()
        assert drawing.prediction() == "7"
        assert page.evaluate("window.cspViolations") == []
        assert not [line for line in drawing.console if "Content Security Policy" in line]

        page.evaluate(LOSE_CONTEXT)
        banner = page.get_by_test_id("banner")
        banner.wait_for(state="visible")
        assert "The GPU context was lost" in banner.text_content()
        assert "The GPU context was lost" in drawing.status()
        reload = page.get_by_test_id("reload")
        assert reload.evaluate("(button) => document.activeElement === button")
        assert page.locator(".label").first.is_disabled()
        reload.click()
        drawing.wait_ready()
        assert page.get_by_test_id("banner").is_hidden()
        draw(page, place(DIGITS[7], *PLACES["centre-large"]))
        drawing.wait_settled()
        assert drawing.prediction() == "7"
    finally:
        context.close()
