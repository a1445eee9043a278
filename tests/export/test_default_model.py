"""models/default/: the shipped CNN scores >= 99.5% on the 10,000 MNIST test images in numpy
(issue 15's goal), and its uint8 export loses at most 0.1 point."""

from __future__ import annotations

import numpy as np
import pytest

from model_export.data import load_split
from model_export.export import export_model
from model_export.exported import load_exported

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def default_folder(repo_root):
    folder = repo_root / "models" / "default"
    # The page serves this model by default: without it the product has no working page.
    assert (folder / "model.json").is_file(), f"{folder}/model.json is missing"
    return folder


def accuracy(model, split) -> float:
    return float(np.mean(model.predict(split.x, batch_size=500).argmax(1) == split.y))


def test_default_model_scores_at_least_99_5_percent_and_uint8_loses_at_most_0_1_point(
        default_folder, tmp_path):
    test = load_split("test")
    model = load_exported(default_folder)
    full = accuracy(model, test)
    assert full >= 0.995, f"models/default: test accuracy {full:.2%}, expected >= 99.50%"
    quantized = load_exported(export_model(model, tmp_path / "uint8", quantize="uint8"))
    drop = full - accuracy(quantized, test)
    assert drop <= 0.001, f"uint8 export loses {drop:.2%} (float32 {full:.2%}), expected <= 0.10"
