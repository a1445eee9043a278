"""Our numpy forward (the model `shadernet evaluate` runs) on every corpus model predicts what
Keras (or TF.js) predicted: argmax identical, max abs difference <= 1e-4."""

from __future__ import annotations

import numpy as np
import pytest

from model_export.cli import main
from model_export.exported import load_exported
from tests.export.keras_corpus import corpus_models

TOLERANCE = 1e-4


@pytest.mark.parametrize("model", corpus_models(), ids=lambda m: m.name)
def test_numpy_forward_matches_keras(model):
    ours = load_exported(model.folder).predict(model.inputs)
    assert ours.shape == model.probabilities.shape
    np.testing.assert_array_equal(ours.argmax(axis=1), model.probabilities.argmax(axis=1))
    worst = float(np.abs(ours - model.probabilities).max())
    assert worst <= TOLERANCE, f"{model.name}: max |ours - keras| = {worst:.2e}"


@pytest.mark.slow
@pytest.mark.parametrize("model", [m for m in corpus_models() if "keras_test_accuracy" in m.expected],
                         ids=lambda m: m.name)
def test_shadernet_evaluate_gives_the_keras_test_accuracy(model, capsys):
    """Models trained on MNIST in Keras: `shadernet evaluate` counts the same correct images."""
    assert main(["evaluate", str(model.folder)]) == 0
    printed = capsys.readouterr().out
    correct = round(model.expected["keras_test_accuracy"] * model.expected["test_images"])
    assert f"({correct}/{model.expected['test_images']})" in printed, printed
