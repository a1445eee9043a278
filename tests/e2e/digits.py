"""Digits written the test author's way, as pen strokes (tests/support/page_driver.py
draws them).

Each digit is a list of strokes; a stroke is a list of (x, y) points in the digit's own
unit box (0..1, y down). `place` puts that box on the canvas at a centre and size given
as fractions of the canvas, so one shape is tested small, large and off-centre.
"""

from __future__ import annotations

import math

from tests.support.page_driver import Stroke


def _ellipse(cx: float, cy: float, rx: float, ry: float, start: float = -90.0,
             turn: float = 370.0, points: int = 28) -> Stroke:
    return [(cx + rx * math.cos(math.radians(start + turn * i / points)),
             cy + ry * math.sin(math.radians(start + turn * i / points))) for i in range(points + 1)]


DIGITS: dict[int, list[Stroke]] = {
    0: [_ellipse(0.5, 0.5, 0.3, 0.46)],
    1: [[(0.38, 0.2), (0.58, 0.03), (0.52, 0.5), (0.47, 0.97)]],
    2: [[(0.18, 0.28), (0.28, 0.1), (0.5, 0.03), (0.72, 0.1), (0.8, 0.28), (0.72, 0.47),
         (0.45, 0.7), (0.18, 0.95), (0.5, 0.94), (0.85, 0.95)]],
    3: [[(0.2, 0.12), (0.45, 0.02), (0.72, 0.1), (0.76, 0.3), (0.58, 0.45), (0.42, 0.48),
         (0.62, 0.52), (0.8, 0.68), (0.76, 0.88), (0.5, 0.98), (0.2, 0.9)]],
    4: [[(0.58, 0.03), (0.35, 0.35), (0.12, 0.66), (0.5, 0.66), (0.88, 0.66)],
        [(0.66, 0.3), (0.66, 0.65), (0.66, 0.98)]],
    5: [[(0.78, 0.04), (0.5, 0.04), (0.3, 0.04)],
        [(0.3, 0.04), (0.26, 0.44), (0.5, 0.38), (0.74, 0.48), (0.8, 0.7), (0.68, 0.9),
         (0.45, 0.97), (0.2, 0.88)]],
    6: [[(0.7, 0.04), (0.47, 0.18), (0.3, 0.45), (0.25, 0.72), (0.38, 0.94), (0.6, 0.95),
         (0.75, 0.78), (0.68, 0.58), (0.47, 0.54), (0.3, 0.64)]],
    7: [[(0.15, 0.06), (0.5, 0.06), (0.85, 0.06), (0.65, 0.5), (0.42, 0.96)]],
    8: [[(0.5, 0.48), (0.28, 0.33), (0.3, 0.1), (0.5, 0.03), (0.7, 0.1), (0.72, 0.32),
         (0.5, 0.48), (0.24, 0.68), (0.3, 0.92), (0.5, 0.98), (0.72, 0.92), (0.76, 0.7),
         (0.5, 0.48)]],
    9: [[(0.74, 0.18), (0.58, 0.04), (0.36, 0.06), (0.25, 0.24), (0.36, 0.42), (0.6, 0.42),
         (0.74, 0.22), (0.74, 0.5), (0.7, 0.75), (0.66, 0.97)]],
}

# (centre x, centre y, size) as fractions of the canvas side.
PLACES = {
    "centre-large": (0.5, 0.5, 0.78),
    "small-top-left": (0.2, 0.22, 0.2),
    "off-centre-bottom-right": (0.68, 0.7, 0.42),
    "medium-left": (0.3, 0.5, 0.5),
}


def place(strokes: list[Stroke], centre_x: float, centre_y: float, size: float,
          slant: float = 0.0) -> list[Stroke]:
    """The strokes in canvas fractions: the unit box scaled to `size`, centred, slanted
    (x shifts by slant * (0.5 - y) * size, like italic writing)."""
    return [[(centre_x + (x - 0.5 + slant * (0.5 - y)) * size, centre_y + (y - 0.5) * size)
             for x, y in stroke] for stroke in strokes]
