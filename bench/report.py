"""Medians, spreads and the table rows every section of bench/browser.py prints."""

from __future__ import annotations

import statistics


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def spread(samples: list[float]) -> str:
    """Interquartile range, 'p25-p75', to show how noisy the median is."""
    if len(samples) < 4:
        return f"{min(samples):.1f}-{max(samples):.1f}"
    quartiles = statistics.quantiles(samples, n=4)
    digits = 2 if quartiles[2] < 10 else 0
    return f"{quartiles[0]:.{digits}f}-{quartiles[2]:.{digits}f}"


def format_ms(value: float) -> str:
    return f"{value:.2f} ms" if value < 10 else f"{value:.0f} ms"


def row(label: str, ours: str, tfjs: str, ratio: str = "", note: str = "") -> str:
    return f"  {label:<34}{ours:>16}{tfjs:>16}{ratio:>9}  {note}".rstrip()


def draw_counts(c: dict) -> str:
    return f"{c['draws']}/{c['gl_calls']}/{c['programs']}"
