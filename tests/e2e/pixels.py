"""What a person sees, as numbers: element screenshots as arrays, ink masks, colour runs.

The page tests read pixels and rendered boxes through these helpers rather than the
attributes the page's own code sets, so a bar that is not drawn, a chart with no line or
an undo that leaves the ink fails.
"""

from __future__ import annotations

import io

import numpy as np

from server.settings import REPO_ROOT

SCREENSHOTS = REPO_ROOT / "build" / "e2e"  # whole-page shots, for a person to look at

# Colours of static/index.css and the pad's pen, as RGB.
ACCENT = (0x2F, 0x6F, 0xDB)       # the best bar, the progress fill, the loss line
BAR_FILL = (0x9D, 0xB8, 0xE6)     # the other bars
PAD_INK = (0x15, 0x17, 0x1C)


def screenshot(locator) -> np.ndarray:
    """The element as it is on screen: (height, width, 3) float RGB 0..255, transitions
    finished (Playwright's animations="disabled")."""
    from PIL import Image

    png = locator.screenshot(animations="disabled")
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32)


def grey(rgb: np.ndarray) -> np.ndarray:
    return rgb.mean(axis=2)


def near(rgb: np.ndarray, colour: tuple[int, int, int], tolerance: float = 40.0) -> np.ndarray:
    """Mask of pixels within `tolerance` (euclidean, 0..255 units) of `colour`."""
    return np.linalg.norm(rgb - np.array(colour, dtype=np.float32), axis=2) <= tolerance


def run_fraction(mask_row: np.ndarray) -> float:
    """Fraction of a row's pixels that are set (a bar's filled share)."""
    return float(mask_row.mean())


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) inclusive of the set pixels; the mask must not be empty."""
    rows, cols = np.nonzero(mask)
    assert rows.size, "no set pixels"
    return int(rows.min()), int(cols.min()), int(rows.max()), int(cols.max())


def crop_to_ink(mask: np.ndarray) -> np.ndarray:
    top, left, bottom, right = bounding_box(mask)
    return mask[top:bottom + 1, left:right + 1]


def resize_mask(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    from PIL import Image

    image = Image.fromarray((mask * 255).astype(np.uint8)).resize((width, height),
                                                                 Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.float32) > 96


def dilate(mask: np.ndarray, radius: int = 1) -> np.ndarray:
    out = mask.copy()
    padded = np.pad(mask, radius)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            out |= padded[radius + dy:radius + dy + mask.shape[0],
                          radius + dx:radius + dx + mask.shape[1]]
    return out


def covered(inner: np.ndarray, outer: np.ndarray, radius: int = 1) -> float:
    """Share of `inner`'s set pixels that lie within `radius` px of a set pixel of `outer`."""
    return float((inner & dilate(outer, radius)).sum() / max(1, inner.sum()))


def save_page(page, name: str, width: int | None = None) -> None:
    """A full-page shot into build/e2e/<name>, at `width` CSS px if given (then restored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    if width is not None:
        page.set_viewport_size({"width": width, "height": size["height"]})
    try:
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True, animations="disabled")
    finally:
        page.set_viewport_size(size)
