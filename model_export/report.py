"""The training report: metrics.json, PNG plots, and an index.html that shows them together.

    metrics.json        config, per-epoch history, test loss/accuracy, per-class accuracy,
                        confusion matrix (rows: true digit, columns: predicted)
    curves.png          loss and accuracy per epoch, train vs validation
    confusion.png       the confusion matrix with counts
    misclassified.png   a grid of misclassified test digits, "true -> predicted (confidence)"
    index.html          all of the above on one page
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never open a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402


@dataclass
class Evaluation:
    loss: float
    accuracy: float
    per_class_accuracy: list[float]
    confusion: np.ndarray  # (classes, classes) int, rows true, columns predicted
    probabilities: np.ndarray


def evaluate_predictions(probs: np.ndarray, labels: np.ndarray, classes: int = 10) -> Evaluation:
    predicted = probs.argmax(axis=1)
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    totals = confusion.sum(axis=1)
    per_class = [float(confusion[c, c] / totals[c]) if totals[c] else float("nan")
                 for c in range(classes)]
    picked = probs[np.arange(len(labels)), labels]
    loss = float(-np.mean(np.log(np.maximum(picked, 1e-12))))
    return Evaluation(loss, float(np.mean(predicted == labels)), per_class, confusion, probs)


def format_evaluation(evaluation: Evaluation, count: int) -> str:
    lines = [f"test accuracy {100 * evaluation.accuracy:.2f}%  "
             f"({int(round(evaluation.accuracy * count))}/{count})  loss {evaluation.loss:.4f}",
             "per-class accuracy:"]
    lines += [f"  {digit}: {100 * value:6.2f}%" for digit, value in
              enumerate(evaluation.per_class_accuracy)]
    return "\n".join(lines)


def write_report(folder: Path, config: dict, history: dict, evaluation: Evaluation,
                 test_images: np.ndarray, test_labels: np.ndarray, extra: dict | None = None) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    metrics = {
        "config": config,
        "history": history,
        "test": {"loss": evaluation.loss, "accuracy": evaluation.accuracy,
                 "count": int(len(test_labels)),
                 "per_class_accuracy": evaluation.per_class_accuracy,
                 "confusion_matrix": evaluation.confusion.tolist()},
        **(extra or {}),
    }
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    plot_curves(history, folder / "curves.png")
    plot_confusion(evaluation.confusion, folder / "confusion.png")
    plot_misclassified(test_images, test_labels, evaluation.probabilities,
                       folder / "misclassified.png")
    _write_index(folder, metrics)
    return folder


def plot_curves(history: dict, path: Path) -> None:
    epochs = history["epochs"]
    x = [e["epoch"] for e in epochs]
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(10, 4))
    for axis, key, title in ((loss_axis, "loss", "Loss (cross-entropy)"),
                             (accuracy_axis, "accuracy", "Accuracy")):
        axis.plot(x, [e[f"train_{key}"] for e in epochs], "o-", label="train")
        if epochs and f"val_{key}" in epochs[0]:
            axis.plot(x, [e[f"val_{key}"] for e in epochs], "s-", label="validation")
        axis.set_title(title)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_confusion(confusion: np.ndarray, path: Path) -> None:
    figure, axis = plt.subplots(figsize=(6.5, 5.5))
    image = axis.imshow(np.log1p(confusion), cmap="Blues")
    classes = len(confusion)
    for true in range(classes):
        for predicted in range(classes):
            count = confusion[true, predicted]
            if count:
                dark = np.log1p(count) > 0.6 * np.log1p(confusion.max())
                axis.text(predicted, true, str(count), ha="center", va="center", fontsize=8,
                          color="white" if dark else "black")
    axis.set_xticks(range(classes))
    axis.set_yticks(range(classes))
    axis.set_xlabel("predicted digit")
    axis.set_ylabel("true digit")
    axis.set_title("Confusion matrix (test set)")
    figure.colorbar(image, ax=axis, label="log(1 + count)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_misclassified(images: np.ndarray, labels: np.ndarray, probs: np.ndarray, path: Path,
                       limit: int = 36) -> None:
    predicted = probs.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    # Most confident mistakes first: those are the instructive ones.
    wrong = wrong[np.argsort(-probs[wrong, predicted[wrong]])][:limit]
    columns = 6
    rows = max(1, int(np.ceil(len(wrong) / columns)))
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 1.6, rows * 1.8), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, index in zip(axes.flat, wrong):
        axis.imshow(images[index, :, :, 0], cmap="gray_r", vmin=0, vmax=1)
        axis.set_title(f"true {labels[index]} → {predicted[index]}\n"
                       f"({100 * probs[index, predicted[index]]:.0f}%)", fontsize=8)
    figure.suptitle(f"Misclassified test digits ({len(np.flatnonzero(predicted != labels))} "
                    f"in all; most confident first)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _write_index(folder: Path, metrics: dict) -> None:
    test = metrics["test"]
    rows = "".join(f"<tr><td>{digit}</td><td>{100 * value:.2f}%</td></tr>"
                   for digit, value in enumerate(test["per_class_accuracy"]))
    config = html.escape(json.dumps(metrics["config"], indent=2))
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>shadernet training report</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto}}
img{{max-width:100%}} td{{padding:0 1em}}</style></head><body>
<h1>Training report</h1>
<p><strong>Test accuracy {100 * test['accuracy']:.2f}%</strong> on {test['count']} images,
loss {test['loss']:.4f}.</p>
<img src="curves.png" alt="loss and accuracy per epoch">
<h2>Per class</h2><table>{rows}</table>
<img src="confusion.png" alt="confusion matrix">
<h2>Mistakes</h2><img src="misclassified.png" alt="misclassified digits">
<h2>Configuration</h2><pre>{config}</pre>
</body></html>
"""
    (folder / "index.html").write_text(page)
