"""Drives the drawing page (server/templates/index.html + static/) like a person: draws
strokes with the mouse, waits for "Ready" and for the bars to show the current drawing,
and reads what the page shows. The end-to-end tests and bench/browser.py both use it.
"""

from __future__ import annotations

import math
import time

Stroke = list[tuple[float, float]]
READY_TIMEOUT_MS = 90_000
# A status line starting so means the page gave up: waiting on would only time out.
FAILED_STATUS = r"^(Could not|Prediction failed|Training failed)"


def draw(page, strokes: list[Stroke], steps_per_unit: int = 25) -> None:
    """Draw `strokes` (points in canvas fractions, 0..1, y down) with mouse drags."""
    box = page.get_by_test_id("canvas").bounding_box()
    left, top, width, height = box["x"], box["y"], box["width"], box["height"]
    mouse = page.mouse
    for stroke in strokes:
        x, y = stroke[0]
        mouse.move(left + x * width, top + y * height)
        mouse.down()
        for (x0, y0), (x1, y1) in zip(stroke, stroke[1:]):
            steps = max(2, int(math.hypot(x1 - x0, y1 - y0) * steps_per_unit))
            mouse.move(left + x1 * width, top + y1 * height, steps=steps)
        mouse.up()


class DrawingPage:
    """A Playwright page on the drawing page, its console, and the steps every user takes."""

    def __init__(self, page, url: str, wait_ready: bool = True) -> None:
        self.page = page
        self.url = url
        self.console: list[str] = []
        page.on("console", lambda m: self.console.append(f"[{m.type}] {m.text}"))
        page.on("pageerror", lambda e: self.console.append(f"[pageerror] {e}"))
        self.ready_seconds = self.open(wait_ready)

    def open(self, wait: bool = True) -> float:
        """Navigate to the page (and wait for 'Ready'); returns the seconds it took."""
        started = time.perf_counter()
        self.page.goto(self.url)
        if wait:
            self.wait_ready()
        return time.perf_counter() - started

    def wait_ready(self, timeout_ms: int = READY_TIMEOUT_MS) -> None:
        self.page.wait_for_function(
            "(failed) => { const s = document.querySelector('[data-testid=status]').textContent;"
            " if (new RegExp(failed).test(s)) throw new Error(s);"
            " return s.includes('Ready'); }", arg=FAILED_STATUS, timeout=timeout_ms)

    def wait_settled(self, timeout_ms: int = 30_000) -> None:
        """Until the bars show the current drawing (no prediction pending)."""
        self.page.wait_for_function(
            "() => { const c = document.querySelector('[data-testid=canvas]');"
            " return c.dataset.version !== undefined && c.dataset.settled === c.dataset.version; }",
            timeout=timeout_ms)

    def prediction(self) -> str:
        return self.page.get_by_test_id("prediction").text_content()

    def probabilities(self) -> list[float]:
        return [float(self.page.get_by_test_id(f"prob-{d}").get_attribute("data-probability"))
                for d in range(10)]

    def status(self) -> str:
        return self.page.get_by_test_id("status").text_content()

    def clean(self) -> None:
        """Empty canvas, no samples, default model with its loaded weights."""
        page = self.page
        page.get_by_test_id("clear").click()
        for remove in page.locator("[data-testid=sample] .remove").all():
            remove.click()
        if not page.get_by_test_id("reset").is_disabled():
            page.get_by_test_id("reset").click()
            self.wait_ready()
        self.wait_settled()
