"""Start-up as a person sees it: the pad works from the first paint, strokes drawn before
"Ready" are read the moment the model is, and the status line shows a progress bar."""

from __future__ import annotations

import pytest

from tests.e2e.digits import DIGITS, PLACES, place
from tests.e2e.pixels import grey, save_page, screenshot
from tests.support.page_driver import DrawingPage, draw
from tests.support.refused_shaders import refuse_shader_links

pytestmark = pytest.mark.browser

METER_BOXES = """() => {
  const meter = document.querySelector('[data-testid=status-meter]');
  const track = meter.getBoundingClientRect();
  const fill = meter.querySelector('.meter-fill').getBoundingClientRect();
  return {visible: meter.checkVisibility(), width: track.width, fill: fill.width,
          left: fill.left - track.left}; }"""


@pytest.fixture
def held_start(browser, e2e_server):
    """A fresh page whose worker script is held back until `release()`: the page has
    painted and runs, the model cannot be loading yet, whatever the machine's speed."""
    url, _ = e2e_server
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    held = []
    context.route("**/worker.js", lambda route: held.append(route))
    page = context.new_page()
    page.set_default_timeout(30_000)
    driver = DrawingPage(page, url + "/", wait_ready=False)
    page.get_by_test_id("prob-0").wait_for()  # page.js ran: the pen is listening

    def release() -> None:
        for _ in range(100):  # the route event reaches Python while Playwright waits
            if held:
                break
            page.wait_for_timeout(50)
        assert held, "the page never asked for its worker"
        held.pop().continue_()
        context.unroute("**/worker.js")

    yield driver, release
    context.close()


def test_strokes_drawn_before_ready_are_classified_once_ready(held_start):
    driver, release = held_start
    page = driver.page
    draw(page, place(DIGITS[3], *PLACES["centre-large"]))
    assert "Ready" not in driver.status()
    assert (grey(screenshot(page.get_by_test_id("canvas"))) < 100).sum() > 2000  # ink shown
    assert driver.prediction() == "–"
    preview = grey(screenshot(page.get_by_test_id("input-preview")))
    assert (preview > 128).sum() > 200  # the 28x28 it will read, shown already (84 px)
    assert "once ready" in page.get_by_test_id("confidence").text_content()
    save_page(page, "starting-390.png", width=390)
    release()
    driver.wait_ready()
    driver.wait_settled()
    assert driver.prediction() == "3", driver.probabilities()


def test_status_line_shows_a_moving_bar_while_starting(held_start):
    driver, release = held_start
    page = driver.page
    assert driver.status().startswith("Starting")
    first = page.evaluate(METER_BOXES)
    page.wait_for_timeout(300)
    later = page.evaluate(METER_BOXES)
    # Indeterminate: a stripe sweeping the track (no fraction known yet).
    assert first["visible"] and first["width"] > 100 and 0 < first["fill"] < first["width"]
    assert abs(later["left"] - first["left"]) > 2, (first, later)
    release()
    driver.wait_ready()
    assert not page.evaluate(METER_BOXES)["visible"]  # gone once Ready


@pytest.mark.parametrize("fraction", [0.0, 0.4, 1.0])
def test_a_stage_with_a_fraction_fills_the_bar_that_far(drawing_page, fraction):
    """The worker's {type: "progress", stage, message, fraction} as the page renders it."""
    page = drawing_page.page
    before = drawing_page.status()
    page.evaluate("""async (fraction) => {
        const base = new URL(JSON.parse(document.getElementById('shadernet-config')
                                 .textContent).static_url, location.href);
        const { showStage } = await import(new URL('status.js', base));
        showStage({ stage: 'download', message: 'Downloading Python…', fraction }); }""",
                  fraction)
    try:
        assert drawing_page.status() == "Downloading Python…"
        box = page.evaluate(METER_BOXES)
        assert box["visible"] and abs(box["fill"] - fraction * box["width"]) <= 1, box
    finally:
        page.evaluate("""async (text) => {
            const base = new URL(JSON.parse(document.getElementById('shadernet-config')
                                     .textContent).static_url, location.href);
            (await import(new URL('status.js', base))).setStatus(text, 'ready'); }""", before)


def test_a_gpu_that_refuses_the_shaders_gets_one_plain_explanation(browser, e2e_server):
    url, _ = e2e_server
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    refuse_shader_links(context)
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(url + "/")
        page.get_by_test_id("prob-0").wait_for()
        draw(page, place(DIGITS[3], *PLACES["centre-large"]))  # before or after Ready
        banner = page.locator("#banner")
        banner.wait_for(state="visible")
        box = banner.bounding_box()
        assert box["width"] > 600 and box["height"] > 20, box
        words = banner.text_content()
        assert "could not compile the network's shaders" in words, words
        assert "failed to link" in words and "another browser" in words, words
        page.wait_for_timeout(500)  # calls that were pending when it gave up
        status = page.get_by_test_id("status").text_content()
        assert status == "Could not compile the network's shaders in this browser.", status
        assert "cannot run" in page.get_by_test_id("confidence").text_content()
        assert page.get_by_test_id("prediction").text_content() == "–"
        save_page(page, "shaders-refused-1280.png")
    finally:
        context.close()
