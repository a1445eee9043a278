"""The Keras corpus (tests/keras_corpus/): which models it holds and what Keras predicted."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CORPUS = Path(__file__).resolve().parents[1] / "keras_corpus"


@dataclass
class CorpusModel:
    name: str
    folder: Path
    inputs: np.ndarray  # (n, h, w, c) float32
    probabilities: np.ndarray  # (n, 10) float32, what Keras (or TF.js) predicted
    expected: dict


def _load(folder: Path) -> CorpusModel:
    expected = json.loads((folder / "expected.json").read_text())
    inputs = np.frombuffer((folder / expected["inputs"]).read_bytes(), "<f4")
    return CorpusModel(str(folder.relative_to(CORPUS)), folder,
                       inputs.reshape(expected["input_shape"]),
                       np.asarray(expected["probabilities"], np.float32), expected)


def corpus_models() -> list[CorpusModel]:
    """Every model with Keras's probabilities: converter outputs, then TF.js-saved ones."""
    folders = sorted(p.parent for p in CORPUS.glob("*/expected.json"))
    folders += sorted(p.parent for p in CORPUS.glob("tfjs_saved/*/expected.json"))
    return [_load(folder) for folder in folders]


def refusal_cases() -> list[tuple[str, Path, dict]]:
    """(name, folder, {layer, key, value?}) for each model a reader must refuse."""
    return [(p.parent.name, p.parent, json.loads(p.read_text()))
            for p in sorted(CORPUS.glob("refuse/*/reason.json"))]
