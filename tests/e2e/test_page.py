"""The drawing page end to end: real server, headless Chromium, mouse strokes."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.e2e.digits import DIGITS, PLACES, place
from tests.e2e.pixels import (ACCENT, BAR_FILL, bounding_box, covered, crop_to_ink, grey, near,
                              resize_mask, run_fraction, save_page, screenshot)
from tests.support.page_driver import draw

pytestmark = pytest.mark.browser



BAR_BOXES = """() => [...document.querySelectorAll('[data-testid^=prob-]')].map((item) => {
  const track = item.querySelector('.track').getBoundingClientRect();
  const fill = item.querySelector('.fill').getBoundingClientRect();
  return {track: track.width, fill: fill.width, fillHeight: fill.height,
          trackHeight: track.height, left: fill.left - track.left};
})"""
BARS_STILL = "() => document.getElementById('bars').getAnimations({subtree: true}).length === 0"


def bar_boxes(page) -> list[dict]:
    page.wait_for_function(BARS_STILL)
    return page.evaluate(BAR_BOXES)


def assert_bars_show(page, probabilities: list[float]) -> None:
    """Each fill's rendered width is its probability's share of the track (within 1.5 px)."""
    boxes = bar_boxes(page)
    for digit, (box, p) in enumerate(zip(boxes, probabilities)):
        assert abs(box["fill"] - p * box["track"]) <= 1.5, (digit, p, box)
        if p > 0.05:
            assert box["fillHeight"] == pytest.approx(box["trackHeight"], abs=0.5), (digit, box)
            assert abs(box["left"]) <= 0.5, (digit, box)
    # Independent of the numbers the page shows: the fills add up to one track.
    assert sum(box["fill"] for box in boxes) == pytest.approx(boxes[0]["track"], abs=3)


def test_ready_page_regions_show_an_empty_pad_and_empty_bars(drawing_page):
    page = drawing_page.page
    assert "Ready" in drawing_page.status()
    save_page(page, "ready-1280.png")
    pad = screenshot(page.get_by_test_id("canvas"))
    assert pad.shape[0] >= 300 and pad.shape[1] == pytest.approx(pad.shape[0], abs=1)
    assert not (grey(pad) < 100).any(), "ink on an empty pad"
    assert grey(pad).std() > 1, "the pad's dot grid is missing"
    for digit in range(10):
        track = screenshot(page.get_by_test_id(f"prob-{digit}").locator(".track"))
        assert track.shape[1] > 100 and track.shape[0] >= 10, digit
        middle = track[track.shape[0] // 2]
        assert not (near(middle[None], ACCENT) | near(middle[None], BAR_FILL)).any(), digit
    assert page.get_by_test_id("prediction").text_content() == "–"


@pytest.mark.parametrize("digit", [7, 0])
def test_bar_fills_are_as_long_as_the_probabilities(drawing_page, digit):
    page = drawing_page.page
    draw(page, place(DIGITS[digit], *PLACES["centre-large"]))
    drawing_page.wait_settled()
    probabilities = drawing_page.probabilities()
    assert_bars_show(page, probabilities)
    best = int(np.argmax(probabilities))
    boxes = bar_boxes(page)
    assert max(range(10), key=lambda d: boxes[d]["fill"]) == best
    # The pixels: the best bar's track is accent-coloured over its probability's share.
    track = screenshot(page.get_by_test_id(f"prob-{best}").locator(".track"))
    row = near(track[track.shape[0] // 2][None], ACCENT)[0]
    assert run_fraction(row) == pytest.approx(probabilities[best], abs=2.5 / row.size)
    page.get_by_test_id("clear").click()
    drawing_page.wait_settled()
    assert max(box["fill"] for box in bar_boxes(page)) == 0


def test_at_phone_width_the_page_fits_and_the_bars_still_show(drawing_page):
    page = drawing_page.page
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        pad = page.get_by_test_id("canvas").bounding_box()
        assert pad["width"] >= 300 and pad["x"] >= 0 and pad["x"] + pad["width"] <= 390
        draw(page, place(DIGITS[3], *PLACES["centre-large"]))
        drawing_page.wait_settled()
        page.get_by_test_id("bars").scroll_into_view_if_needed()
        assert_bars_show(page, drawing_page.probabilities())
        save_page(page, "drawn-390.png")
    finally:
        page.set_viewport_size({"width": 1280, "height": 1000})


def test_the_preview_shows_the_drawn_ink(drawing_page):
    """The 28x28 preview, as rendered (84 px, pixelated), holds the pad's ink shape."""
    page = drawing_page.page
    draw(page, place(DIGITS[2], *PLACES["off-centre-bottom-right"]))
    drawing_page.wait_settled()
    save_page(page, "drawn-1280.png")
    pad_ink = grey(screenshot(page.get_by_test_id("canvas"))) < 100
    shown = grey(screenshot(page.get_by_test_id("input-preview")))
    # The black square itself (the shot may hold a sliver of the card around it).
    top, left, bottom, right = bounding_box(shown < 40)
    shown = shown[top:bottom + 1, left:right + 1]
    assert min(shown.shape) >= 83, shown.shape  # 3 screen px per pixel
    centres = (np.arange(28) + 0.5) * shown.shape[0] / 28
    pixels = shown[centres.astype(int)][:, centres.astype(int)]
    seen_ink = pixels > 100
    top, left, bottom, right = bounding_box(seen_ink)
    assert max(bottom - top, right - left) + 1 in range(19, 23)  # MNIST's 20 px box
    seen = crop_to_ink(seen_ink)
    drawn = resize_mask(crop_to_ink(pad_ink), *seen.shape)
    assert covered(drawn, seen) > 0.9 and covered(seen, drawn) > 0.9


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


def pad_ink(page) -> np.ndarray:
    return grey(screenshot(page.get_by_test_id("canvas"))) < 100


@pytest.mark.parametrize("how", ["button", "ctrl-z"])
def test_undo_removes_the_last_strokes_pixels_and_clear_empties(drawing_page, how):
    page = drawing_page.page
    four = place(DIGITS[4], *PLACES["centre-large"])
    draw(page, four[:1])
    drawing_page.wait_settled()
    first, first_ink = drawing_page.probabilities(), pad_ink(page)
    draw(page, four[1:])
    drawing_page.wait_settled()
    both_ink = pad_ink(page)
    assert both_ink.sum() > 1.3 * first_ink.sum()
    if how == "button":
        page.get_by_test_id("undo").click()
    else:
        page.get_by_test_id("canvas").press("Control+z")
    drawing_page.wait_settled()
    undone_ink = pad_ink(page)
    assert (undone_ink ^ first_ink).sum() <= 0.01 * first_ink.sum()  # the first stroke alone
    assert drawing_page.probabilities() == pytest.approx(first, abs=1e-6)
    assert_bars_show(page, first)
    page.get_by_test_id("canvas").press("Escape") if how == "ctrl-z" else \
        page.get_by_test_id("clear").click()
    drawing_page.wait_settled()
    assert drawing_page.prediction() == "–"
    assert page.get_by_test_id("undo").is_disabled()
    assert not pad_ink(page).any()
    assert max(box["fill"] for box in bar_boxes(page)) == 0


def test_under_the_hood_shows_glsl_and_counters(drawing_page):
    page = drawing_page.page
    draw(page, place(DIGITS[1], *PLACES["centre-large"]))
    drawing_page.wait_settled()
    page.locator("[data-testid=hood] > summary").click()
    sources = page.locator("[data-testid=sources] pre")
    assert sources.count() >= 2
    first = page.locator("[data-testid=sources] details").first
    first.locator("summary").click()
    assert sources.first.is_visible() and sources.first.bounding_box()["height"] > 50
    assert sources.first.text_content().startswith("#version 300 es")
    assert "void main()" in sources.first.text_content()
    counts = re.fullmatch(r"(\d+) draws · (\d+) GL calls · (\d+) programs · (\d+) compiles",
                          page.locator("#stat-forward").text_content())
    assert counts and int(counts[1]) >= 1 and int(counts[2]) > int(counts[1]), counts
    objects = re.match(r"(\d+) textures · (\d+) framebuffers",
                       page.locator("#stat-objects").text_content())
    assert objects and int(objects[1]) >= 2, objects
    ms = re.fullmatch(r"([0-9.]+) ms \(predict call in the worker\)",
                      page.get_by_test_id("forward-ms").text_content())
    assert ms and float(ms[1]) > 0
    first.locator("summary").click()
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


def test_picks_in_quick_succession_leave_the_last_one_loaded(drawing_page):
    """Change events at staggered times, each landing at another stage of the load before
    it (loading, swapping models, reading the new one's info): the last pick wins, and the
    earlier ones, superseded, neither report an error nor free the model in use."""
    page = drawing_page.page
    draw(page, place(DIGITS[3], *PLACES["centre-large"]))
    drawing_page.wait_settled()
    before = drawing_page.probabilities()
    picker = page.get_by_test_id("model-picker")
    picker.select_option(label="default (shipped)")
    picker.evaluate("""(el) => new Promise((resolve) => {
      const delays = [0, 0, 5, 15, 30, 50, 80, 120, 170, 230, 300];
      delays.forEach((ms, i) => setTimeout(() => {
        el.dispatchEvent(new Event('change'));
        if (i === delays.length - 1) resolve();
      }, ms));
    })""")
    drawing_page.wait_ready()
    assert "default shipped loaded" in drawing_page.status()
    page.get_by_test_id("clear").click()
    draw(page, place(DIGITS[3], *PLACES["centre-large"]))
    drawing_page.wait_settled()
    assert drawing_page.probabilities() == pytest.approx(before, abs=1e-5)
    assert "Could not" not in drawing_page.status()


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
    assert re.search(r"/default/versions/shipped@[0-9a-f]{16}/model\.json$", picker.input_value())
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


def test_loss_chart_line_height_is_proportional_to_the_loss(drawing_page):
    """static/chart.js on a known series: the line's height above the axis at each step's
    column, read from the pixels, is in proportion to that step's loss (within 2 px)."""
    page = drawing_page.page
    losses = [2.0, 1.6, 1.1, 0.7, 0.4, 0.3, 0.1]
    page.evaluate("""async (losses) => {
        const { drawLossChart } = await import(new URL('chart.js', new URL(
            JSON.parse(document.getElementById('shadernet-config').textContent).static_url,
            location.href)));
        const canvas = Object.assign(document.createElement('canvas'),
                                     { width: 360, height: 120, id: 'chart-under-test' });
        canvas.style.cssText = 'position: fixed; left: 0; top: 0; width: 360px; height: 120px;'
            + 'background: #fff; z-index: 10';
        document.body.append(canvas);
        drawLossChart(canvas, losses, losses.length); }""", losses)
    try:
        chart = screenshot(page.locator("#chart-under-test"))
    finally:
        page.evaluate("() => document.getElementById('chart-under-test').remove()")
    line = near(chart, ACCENT, tolerance=60)
    bottom = chart.shape[0] - 16  # the axis line: CHART_LAYOUT.bottomGap
    left, right = 34, 6
    heights = []
    for i, _ in enumerate(losses):
        x = round(left + (chart.shape[1] - left - right) * i / (len(losses) - 1))
        rows = np.nonzero(line[:, max(0, x - 1):x + 2].any(axis=1))[0]
        assert rows.size, f"no line at step {i} (x={x})"
        heights.append(bottom - rows.mean())
    for i, loss in enumerate(losses):
        assert heights[i] == pytest.approx(heights[0] * loss / losses[0], abs=2.5), (i, heights)
    assert heights[0] > 80  # the largest loss is near the top
