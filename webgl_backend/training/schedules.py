"""Learning-rate schedules for the GPU trainer: step (updates done) -> rate, in Python
floats, the numpy trainer's formulas (model_export.nn.schedules)."""

from __future__ import annotations

from typing import Callable


def exponential_decay(learning_rate: float, decay_steps: int, decay_rate: float,
                      floor: float = 0.0) -> Callable[[int], float]:
    """lr(step) = max(floor, learning_rate * decay_rate ** (step / decay_steps))."""
    def rate(step: int) -> float:
        return max(floor, learning_rate * decay_rate ** (step / decay_steps))
    return rate
