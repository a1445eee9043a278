"""What a run reports: accuracy, cross-entropy, the confusion matrix and the most confident
mistakes from predicted probabilities (as the desktop report computes them), and the
smoothed curves of the live view."""

from __future__ import annotations

import math

from webgl_backend.scratch.dataset import CLASSES

# The desktop's floor for log(p) of the true class (model_export Sequential.evaluate).
PROBABILITY_FLOOR = 1e-12


def row_predictions(values, n: int, classes: int = CLASSES) -> list[tuple[int, float]]:
    """(argmax, its value) per row of n * classes scores (the first maximum wins)."""
    out = []
    for row in range(n):
        scores = values[row * classes:(row + 1) * classes]
        best = max(range(classes), key=scores.__getitem__)
        out.append((best, float(scores[best])))
    return out


def batch_accuracy(logits, labels, n: int) -> float:
    predicted = row_predictions(logits, n)
    return sum(1 for (p, _), label in zip(predicted, labels) if p == int(label)) / n


def summarise(probabilities, labels, n: int, mistakes: int = 0, first_index: int = 0) -> dict:
    """{"accuracy", "loss", "confusion" (rows true, columns predicted), "mistakes"
    (the `mistakes` most confident wrong answers, most confident first), "images"}."""
    confusion = [[0] * CLASSES for _ in range(CLASSES)]
    loss, correct, wrong = 0.0, 0, []
    for row, (predicted, confidence) in enumerate(row_predictions(probabilities, n)):
        label = int(labels[row])
        confusion[label][predicted] += 1
        loss -= math.log(max(float(probabilities[row * CLASSES + label]), PROBABILITY_FLOOR))
        if predicted == label:
            correct += 1
        else:
            wrong.append({"index": first_index + row, "label": label, "predicted": predicted,
                          "confidence": confidence})
    wrong.sort(key=lambda m: -m["confidence"])
    return {"accuracy": correct / n if n else 0.0, "loss": loss / n if n else 0.0,
            "confusion": confusion, "mistakes": wrong[:mistakes], "images": n}


class Smoothed:
    """An exponential moving average with bias correction (the first values are not
    pulled towards zero), as TensorBoard's smoothing of a training curve."""

    def __init__(self, weight: float = 0.9) -> None:
        self.weight = weight
        self._average = 0.0
        self._count = 0

    def add(self, value: float) -> float:
        self._count += 1
        self._average = self.weight * self._average + (1.0 - self.weight) * value
        return self._average / (1.0 - self.weight ** self._count)
