"""The Train panel end to end: a network of the ladder trained from scratch in the page
through its controls, on MNIST from our server; what a person sees while and after it
trains (bar widths, the curves' pixels, the confusion matrix, the mistakes' images);
pause / resume / stop; "Use for drawing"; saved to the server, read back by TF.js and
picked again, predicting as in the page."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

from tests.browser.test_tfjs_oracle import EXPORT_ROOT as ORACLE_ROOT
from tests.browser.test_tfjs_oracle import tfjs_predict
from tests.conftest import REPO_ROOT
from tests.e2e.digits import DIGITS, place
from tests.e2e.pixels import ACCENT, grey, near, save_page, screenshot
from tests.support.page_driver import draw

pytestmark = pytest.mark.browser

TRAIN_TIMEOUT_MS = 240_000
SEVEN = place(DIGITS[7], 0.5, 0.5, 0.7)
STEP = "() => Number(document.querySelector('[data-testid=scratch-progress]').dataset.step || 0)"
METER_BOXES = """() => {
  const meter = document.querySelector('[data-testid=scratch-progress]');
  return [meter.getBoundingClientRect().width,
          meter.querySelector('.meter-fill').getBoundingClientRect().width]; }"""
# The drawing's 28x28 preview, as the network gets it (ink 1.0 on 0.0).
PREVIEW = """() => {
  const rgba = document.querySelector('[data-testid=input-preview]').getContext('2d')
    .getImageData(0, 0, 28, 28).data;
  return Array.from({length: 784}, (_, i) => rgba[4 * i] / 255); }"""
def status_is(page, pattern: str, timeout_ms: int = TRAIN_TIMEOUT_MS) -> None:
    page.wait_for_function(
        "(p) => { const s = document.querySelector('[data-testid=status]').textContent;"
        " if (/failed|Could not/.test(s)) throw new Error(s); return new RegExp(p).test(s); }",
        arg=pattern, timeout=timeout_ms)


def open_panel(page) -> None:
    panel = page.get_by_test_id("scratch")
    if not panel.evaluate("(p) => p.open"):
        summary = panel.locator("summary")
        summary.focus()
        page.keyboard.press("Enter")  # keyboard-reachable: a summary opens on Enter
    page.wait_for_function("() => !document.querySelector('[data-testid=scratch-start]').disabled",
                           timeout=120_000)


def choose(page, arch: str, **fields) -> None:
    page.get_by_test_id("scratch-arch").select_option(arch)
    for name, value in fields.items():
        page.get_by_test_id(f"scratch-{name}").fill(str(value))


def assert_line_falls(chart: np.ndarray, colour, tolerance: float = 60) -> None:
    """A line of `colour` across the plot, lower on screen (larger y) at the end."""
    line = near(chart, colour, tolerance=tolerance)
    columns = np.nonzero(line.any(axis=0))[0]
    assert columns.size > 0.6 * chart.shape[1], "no line across the chart"
    heights = np.array([chart.shape[0] - np.nonzero(line[:, c])[0].mean() for c in columns])
    tenth = max(3, columns.size // 10)
    assert heights[:tenth].mean() > heights[-tenth:].mean() + 5, heights


def read_drawing(drawing_page, strokes) -> list[float]:
    page = drawing_page.page
    page.get_by_test_id("clear").click()
    # The panel's buttons sit below the pad: bring all of the pad back into view to draw.
    page.get_by_test_id("canvas").evaluate("(pad) => pad.scrollIntoView({block: 'center'})")
    draw(page, strokes)
    drawing_page.wait_settled()
    return drawing_page.probabilities()


@pytest.fixture(scope="module")
def trained(loaded_page):
    """The softmax rung trained once through the panel (2 epochs of 2,000 images, batch
    10: 360 steps); yields the page and the progress bar's fill widths seen while it trained."""
    page = loaded_page.page
    loaded_page.clean()
    open_panel(page)
    choose(page, "softmax", images=2000, epochs=2, batch=10, seed=0)
    page.get_by_test_id("scratch-start").click()
    page.wait_for_function(f"() => ({STEP})() >= 3", timeout=TRAIN_TIMEOUT_MS)
    widths = [page.evaluate(METER_BOXES)]
    save_page(page, "scratch-training-1280.png")
    save_page(page, "scratch-training-390.png", width=390)
    page.wait_for_function(f"(seen) => ({STEP})() >= seen + 5", arg=page.evaluate(STEP),
                           timeout=TRAIN_TIMEOUT_MS)
    widths.append(page.evaluate(METER_BOXES))
    status_is(page, "trained here")
    widths.append(page.evaluate(METER_BOXES))
    yield loaded_page, widths
    loaded_page.open()  # the shipped default model again, for the other tests


def test_progress_curves_and_results_render(trained):
    drawing_page, widths = trained
    page = drawing_page.page
    fills = [fill for _, fill in widths]
    assert fills[0] > 0 and fills[1] > fills[0] and fills[2] > fills[1], widths
    track, fill = widths[-1]
    assert fill == pytest.approx(track, abs=1.5) and track > 200
    assert_line_falls(screenshot(page.get_by_test_id("scratch-loss-chart")), ACCENT)
    accuracy = screenshot(page.get_by_test_id("scratch-accuracy-chart"))
    line = near(accuracy, ACCENT, tolerance=60)
    assert line.any(axis=0).sum() > 0.6 * accuracy.shape[1]

    heading = page.get_by_test_id("scratch-test").text_content()
    accuracy_text, images = re.match(r"Test accuracy ([0-9.]+)% on ([0-9,]+) test images",
                                     heading).groups()
    images = int(images.replace(",", ""))
    assert images == 10_000 and float(accuracy_text) >= 80.0, heading
    cells = page.locator("[data-testid=scratch-confusion] [data-testid=confusion-cell]")
    assert cells.count() == 100
    counts = np.array([int(text) for text in cells.all_text_contents()]).reshape(10, 10)
    assert counts.sum() == images
    # The heading rounds to 0.1%: the diagonal is the count it rounds.
    assert np.trace(counts) == pytest.approx(float(accuracy_text) / 100 * images, abs=images / 2000)
    box = page.get_by_test_id("scratch-confusion").bounding_box()
    assert box["width"] > 200 and box["height"] > 150  # rendered, not just in the DOM

    mistakes = page.locator("[data-testid=mistake]")
    assert mistakes.count() == 16
    first = mistakes.first
    label, said = re.match(r"(\d) → (\d)", first.locator(".said").text_content()).groups()
    assert label != said
    picture = grey(screenshot(first.locator("canvas")))
    assert picture.shape[0] >= 40 and (picture > 128).mean() > 0.05  # a white digit on black
    save_page(page, "scratch-trained-1280.png")
    save_page(page, "scratch-trained-390.png", width=390)


def test_use_for_drawing_then_save_and_reload(trained, e2e_server, static_server):
    drawing_page, _ = trained
    page = drawing_page.page
    url, root = e2e_server
    shipped = read_drawing(drawing_page, SEVEN)
    page.get_by_test_id("scratch-use").click()
    status_is(page, "now reads your drawing")
    assert "One-layer softmax" in page.locator("#stat-model").text_content()
    in_page = read_drawing(drawing_page, SEVEN)
    assert not np.allclose(in_page, shipped, atol=1e-3)  # another model reads it now
    assert int(np.argmax(in_page)) == 7
    image = page.evaluate(PREVIEW)

    page.get_by_test_id("scratch-save-name").fill("scratch-e2e")
    page.get_by_test_id("scratch-save").click()
    status_is(page, "saved as scratch-e2e v1", timeout_ms=60_000)
    assert (root / "store" / "scratch-e2e" / "v1" / "model.json").is_file()
    # TF.js reads the saved files in a page of its own: our page's CSP (no 'unsafe-eval')
    # stops TF.js's bundle from starting.
    folder = REPO_ROOT / ".cache" / "test-exports" / "scratch-e2e"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(root / "store" / "scratch-e2e" / "v1", folder)
    (REPO_ROOT / ORACLE_ROOT).mkdir(parents=True, exist_ok=True)
    (REPO_ROOT / ORACLE_ROOT / "blank.html").write_text("<!doctype html><title>oracle</title>")
    oracle_page = page.context.new_page()
    try:
        by_tfjs = tfjs_predict(oracle_page, static_server, folder.relative_to(REPO_ROOT).as_posix(),
                               np.asarray(image, np.float32).reshape(1, 28, 28, 1), "cpu")
    finally:
        oracle_page.close()
    assert by_tfjs.ravel() == pytest.approx(in_page, abs=1e-4)

    picker = page.get_by_test_id("model-picker")
    option = next(text for text in picker.locator("option").all_text_contents()
                  if text.startswith("scratch-e2e v1"))
    picker.select_option(label=option)
    drawing_page.wait_ready()
    assert read_drawing(drawing_page, SEVEN) == pytest.approx(in_page, abs=1e-5)


def test_pause_resume_stop_keep_the_best(trained):
    drawing_page, _ = trained
    page = drawing_page.page
    choose(page, "softmax", images=2000, epochs=3, batch=10, seed=1)
    page.get_by_test_id("scratch-start").click()
    page.wait_for_function(f"() => ({STEP})() >= 3", timeout=TRAIN_TIMEOUT_MS)
    # The drawing model reads a drawing while the other network trains (between steps).
    assert int(np.argmax(read_drawing(drawing_page, SEVEN))) == 7
    assert page.evaluate(STEP) < 540, "training ended before the drawing was read"
    page.wait_for_function("() => /best: epoch 1/.test("
                           "document.querySelector('[data-testid=scratch-val]').textContent)",
                           timeout=TRAIN_TIMEOUT_MS)
    page.get_by_test_id("scratch-pause").click()
    status_is(page, "Training paused", timeout_ms=30_000)
    paused_at = page.evaluate(STEP)
    # Drawing is read while training is paused (the worker answers predicts).
    assert int(np.argmax(read_drawing(drawing_page, SEVEN))) == 7
    page.wait_for_timeout(1500)
    assert page.evaluate(STEP) <= paused_at + 1  # at most the step that was running
    stopped_at = page.evaluate(STEP)
    page.wait_for_timeout(1000)
    assert page.evaluate(STEP) == stopped_at
    assert page.get_by_test_id("scratch-pause").get_attribute("aria-pressed") == "true"
    page.get_by_test_id("scratch-pause").click()  # resume
    page.wait_for_function(f"(seen) => ({STEP})() >= seen + 3", arg=stopped_at, timeout=60_000)
    page.get_by_test_id("scratch-stop").click()
    status_is(page, "trained here")
    line = page.get_by_test_id("scratch-line").text_content()
    assert re.match(r"Stopped after \d+ steps", line), line
    assert "best epoch" in line and "kept" in line
    steps = int(re.search(r"after (\d+) steps", line).group(1))
    assert steps < 3 * 180  # it ended early
    heading = page.get_by_test_id("scratch-test").text_content()
    assert float(re.search(r"([0-9.]+)%", heading).group(1)) >= 70.0
