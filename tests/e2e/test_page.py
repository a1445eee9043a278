"""The drawing page end to end: real server, headless Chromium, mouse strokes."""

from __future__ import annotations

import io

import numpy as np
import pytest

from server.settings import REPO_ROOT
from tests.e2e.digits import DIGITS, PLACES, draw, place

pytestmark = pytest.mark.browser

SCREENSHOT = REPO_ROOT / "build" / "e2e" / "ready.png"


def test_ready_page_screenshot_is_not_blank_and_has_bars(drawing_page):
    page = drawing_page.page
    assert "Ready" in drawing_page.status()
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    png = page.screenshot(path=str(SCREENSHOT), full_page=True)
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32)
    assert pixels.std() > 20, "the page looks blank"
    packed = pixels.astype(np.uint32) @ np.array([1 << 16, 1 << 8, 1], dtype=np.uint32)
    assert len(np.unique(packed)) > 200  # text, bars and buttons, not a flat fill
    for digit in range(10):
        bar = page.get_by_test_id(f"prob-{digit}")
        box = bar.bounding_box()
        assert bar.is_visible() and box["width"] > 100 and box["height"] > 8, digit
    canvas = page.get_by_test_id("canvas").bounding_box()
    assert canvas["width"] >= 300 and canvas["height"] == pytest.approx(canvas["width"], abs=1)
    assert page.get_by_test_id("prediction").text_content() == "–"


@pytest.mark.parametrize("digit, where", [
    (0, "centre-large"), (1, "small-top-left"), (2, "off-centre-bottom-right"),
    (3, "centre-large"), (4, "medium-left"), (5, "small-top-left"),
    (6, "off-centre-bottom-right"), (7, "small-top-left"), (8, "medium-left"),
    (9, "centre-large"),
])
def test_drawn_digit_is_recognised(drawing_page, digit, where):
    draw(drawing_page.page, place(DIGITS[digit], *PLACES[where]))
    drawing_page.wait_settled()
    probabilities = drawing_page.probabilities()
    assert drawing_page.prediction() == str(digit), probabilities
    assert int(np.argmax(probabilities)) == digit
    assert sum(probabilities) == pytest.approx(1.0, abs=1e-3)
    confidence = drawing_page.page.get_by_test_id("confidence").text_content()
    assert confidence == f"{100 * probabilities[digit]:.1f}% sure"


def test_the_model_sees_a_centred_28x28_digit_whatever_the_size(drawing_page):
    page = drawing_page.page
    seen = []
    for where in ("small-top-left", "centre-large"):
        page.get_by_test_id("clear").click()
        draw(page, place(DIGITS[7], *PLACES[where]))
        drawing_page.wait_settled()
        seen.append(np.array(page.evaluate(
            "() => Array.from(document.querySelector('[data-testid=input-preview]')"
            ".getContext('2d').getImageData(0, 0, 28, 28).data).filter((_, i) => i % 4 == 0)"),
            dtype=np.float32).reshape(28, 28) / 255)
    for image in seen:
        rows, cols = np.nonzero(image > 0.1)
        assert max(rows.max() - rows.min(), cols.max() - cols.min()) + 1 in range(19, 23)
        total = image.sum()
        centre = ((image.sum(1) * (np.arange(28) + 0.5)).sum() / total,
                  (image.sum(0) * (np.arange(28) + 0.5)).sum() / total)
        assert centre == pytest.approx((14, 14), abs=0.6)
    assert np.abs(seen[0] - seen[1]).mean() < 0.03  # same digit, same picture


def test_slanted_digit_is_recognised(drawing_page):
    draw(drawing_page.page, place(DIGITS[4], 0.5, 0.5, 0.6, slant=0.35))
    drawing_page.wait_settled()
    assert drawing_page.prediction() == "4", drawing_page.probabilities()


def test_prediction_updates_while_drawing(drawing_page):
    """Live classification: predictions arrive before the pen is lifted."""
    page = drawing_page.page
    box = page.get_by_test_id("canvas").bounding_box()
    page.mouse.move(box["x"] + 0.3 * box["width"], box["y"] + 0.2 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.7 * box["width"], box["y"] + 0.2 * box["height"], steps=15)
    page.mouse.move(box["x"] + 0.45 * box["width"], box["y"] + 0.85 * box["height"], steps=25)
    page.wait_for_function("() => document.querySelector('[data-testid=prediction]')"
                           ".textContent !== '–'")
    assert page.evaluate("() => document.querySelector('[data-testid=canvas]').dataset.classified"
                         " !== undefined")
    page.mouse.up()
    drawing_page.wait_settled()
    assert drawing_page.prediction() == "7"


def test_undo_removes_the_last_stroke_and_clear_empties(drawing_page):
    page = drawing_page.page
    four = place(DIGITS[4], *PLACES["centre-large"])
    draw(page, four[:1])
    drawing_page.wait_settled()
    first = drawing_page.probabilities()
    draw(page, four[1:])
    drawing_page.wait_settled()
    assert drawing_page.prediction() == "4"
    page.get_by_test_id("undo").click()
    drawing_page.wait_settled()
    assert drawing_page.probabilities() == pytest.approx(first, abs=1e-6)
    page.get_by_test_id("clear").click()
    drawing_page.wait_settled()
    assert drawing_page.prediction() == "–"
    assert page.get_by_test_id("undo").is_disabled()
    assert drawing_page.probabilities() == [0.0] * 10
    ink = page.evaluate("() => { const c = document.querySelector('[data-testid=canvas]');"
                        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                        " let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] > 0; return n; }")
    assert ink == 0


def test_keyboard_escape_clears_and_ctrl_z_undoes(drawing_page):
    page = drawing_page.page
    draw(page, place(DIGITS[4], *PLACES["centre-large"]))
    drawing_page.wait_settled()
    page.get_by_test_id("canvas").press("Control+z")
    drawing_page.wait_settled()
    assert page.evaluate("() => document.querySelector('[data-testid=canvas]').dataset.version") \
        is not None and drawing_page.prediction() != "–"
    page.get_by_test_id("canvas").press("Escape")
    drawing_page.wait_settled()
    assert drawing_page.prediction() == "–"


def test_under_the_hood_shows_glsl_and_counters(drawing_page):
    page = drawing_page.page
    draw(page, place(DIGITS[1], *PLACES["centre-large"]))
    drawing_page.wait_settled()
    page.locator("[data-testid=hood] > summary").click()
    sources = page.locator("[data-testid=sources] pre")
    assert sources.count() >= 2
    assert sources.first.text_content().startswith("#version 300 es")
    assert "draws" in page.locator("#stat-forward").text_content()
    assert "textures" in page.locator("#stat-objects").text_content()
    assert page.get_by_test_id("forward-ms").text_content().endswith("(predict call in the worker)")
    page.locator("[data-testid=hood] > summary").click()


def test_picker_lists_the_shipped_model_and_reloads_it(drawing_page):
    page = drawing_page.page
    picker = page.get_by_test_id("model-picker")
    options = picker.locator("option").all_text_contents()
    assert "default (shipped)" in options
    draw(page, place(DIGITS[3], *PLACES["centre-large"]))
    drawing_page.wait_settled()
    before = drawing_page.probabilities()
    picker.select_option(label="default (shipped)")
    picker.dispatch_event("change")
    drawing_page.wait_ready()
    assert "default shipped loaded" in drawing_page.status()
    page.get_by_test_id("clear").click()
    draw(page, place(DIGITS[3], *PLACES["centre-large"]))
    drawing_page.wait_settled()
    assert drawing_page.probabilities() == pytest.approx(before, abs=1e-5)


def test_save_refuses_a_bad_name_before_uploading(drawing_page):
    page = drawing_page.page
    page.get_by_test_id("save-name").fill("My Model!")
    page.get_by_test_id("save").click()
    assert "Name: 1 to 64 characters" in drawing_page.status()
    page.get_by_test_id("save-name").fill("")


def test_label_buttons_add_and_remove_thumbnails(drawing_page):
    page = drawing_page.page
    assert page.get_by_test_id("label-3").is_disabled()  # nothing drawn yet
    for digit in (3, 8):
        draw(page, place(DIGITS[digit], *PLACES["centre-large"]))
        drawing_page.wait_settled()
        page.get_by_test_id(f"label-{digit}").click()
    samples = page.locator("[data-testid=sample]")
    assert samples.count() == 2
    assert [s.get_attribute("data-label") for s in samples.all()] == ["3", "8"]
    assert drawing_page.prediction() == "–"  # the canvas is cleared for the next drawing
    assert not page.get_by_test_id("train").is_disabled()
    samples.first.locator(".remove").click()
    assert [s.get_attribute("data-label") for s in samples.all()] == ["8"]


NO_WEBGL2 = """
const original = HTMLCanvasElement.prototype.getContext;
HTMLCanvasElement.prototype.getContext = function (kind, ...rest) {
  return kind === 'webgl2' ? null : original.call(this, kind, ...rest);
};"""
NO_FLOAT_TARGETS = """
const original = WebGL2RenderingContext.prototype.getExtension;
WebGL2RenderingContext.prototype.getExtension = function (name) {
  return name === 'EXT_color_buffer_float' ? null : original.call(this, name);
};"""


@pytest.mark.parametrize("patch, words", [
    (NO_WEBGL2, "WebGL2 is not available"),
    (NO_FLOAT_TARGETS, "EXT_color_buffer_float"),
], ids=["no-webgl2", "no-float-render-targets"])
def test_without_webgl2_the_page_says_so(browser, e2e_server, patch, words):
    url, _ = e2e_server
    context = browser.new_context()
    try:
        context.add_init_script(patch)
        page = context.new_page()
        page.goto(url)
        banner = page.get_by_test_id("banner")
        banner.wait_for(state="visible", timeout=10_000)
        assert words in banner.text_content()
        status = page.get_by_test_id("status")
        assert words in status.text_content() and "Ready" not in status.text_content()
        assert page.get_by_test_id("prob-9").is_visible()  # the page is there, not blank
        assert page.get_by_test_id("train").is_disabled()
    finally:
        context.close()


def test_a_model_that_fails_to_load_is_reported_and_the_old_one_kept(drawing_page):
    page = drawing_page.page
    picker = page.get_by_test_id("model-picker")
    page.evaluate("""() => {
        const option = new Option('missing v9', '/api/models/missing/versions/v9/model.json');
        option.dataset.name = 'missing'; option.dataset.version = 'v9';
        document.querySelector('[data-testid=model-picker]').append(option); }""")
    picker.select_option(label="missing v9")
    page.wait_for_function("() => document.querySelector('[data-testid=status]')"
                           ".textContent.startsWith('Could not load missing v9')")
    status = drawing_page.status()
    assert "HTTP 404" in status and "missing" in status  # the server's detail, passed on
    assert picker.input_value().endswith("/default/versions/shipped/model.json")
    page.evaluate("() => document.querySelector('[data-testid=model-picker] option:last-child')"
                  ".remove()")
    draw(page, place(DIGITS[2], *PLACES["centre-large"]))
    drawing_page.wait_settled()
    assert drawing_page.prediction() == "2"


def test_touch_strokes_draw_too(drawing_page):
    """A finger: touch events through the DevTools protocol become pointer events."""
    page = drawing_page.page
    box = page.get_by_test_id("canvas").bounding_box()
    cdp = page.context.new_cdp_session(page)
    try:
        for stroke in place(DIGITS[7], *PLACES["centre-large"]):
            points = [(box["x"] + x * box["width"], box["y"] + y * box["height"])
                      for x, y in stroke]
            path = [(x0 + (x1 - x0) * t / 12, y0 + (y1 - y0) * t / 12)
                    for (x0, y0), (x1, y1) in zip(points, points[1:]) for t in range(1, 13)]
            cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [
                {"x": points[0][0], "y": points[0][1]}]})
            for x, y in path:
                cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [
                    {"x": x, "y": y}]})
            cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    finally:
        cdp.detach()
    drawing_page.wait_settled()
    assert drawing_page.prediction() == "7"


def test_digit_key_on_the_canvas_adds_a_sample(drawing_page):
    page = drawing_page.page
    draw(page, place(DIGITS[5], *PLACES["centre-large"]))
    drawing_page.wait_settled()
    page.get_by_test_id("canvas").press("5")
    samples = page.locator("[data-testid=sample]")
    assert samples.count() == 1 and samples.first.get_attribute("data-label") == "5"
