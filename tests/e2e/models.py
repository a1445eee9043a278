"""The model the end-to-end tests serve as `default`.

`models/default/` once the lead has committed it; until then a small MLP trained here on
MNIST (about 10 s, once) and kept in `.cache/e2e-model/` (git-ignored), so later runs
start at once.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from model_export.export import export_model
from model_export.layers import Dense, Flatten
from model_export.model import Sequential
from model_export.train import TrainConfig, Trainer
from server.settings import REPO_ROOT

SHIPPED_DEFAULT = REPO_ROOT / "models" / "default"
CACHED = REPO_ROOT / ".cache" / "e2e-model" / "mlp256-aug-e4-s0"


def train_small_mlp(out_dir: Path) -> Path:
    """784-256-10 MLP, 4 epochs with augmentation (about 97.5% on MNIST test), exported."""
    from model_export.data import load_mnist
    from model_export.nn.optimizers import get_optimizer

    config = TrainConfig(arch="mlp", epochs=4, batch_size=128, optimizer="adam",
                         learning_rate=0.002, augment=True, validation_fraction=0.0)
    model = Sequential([Flatten(), Dense(256, activation="relu"), Dense(10, activation="softmax")],
                       input_shape=(28, 28, 1), seed=0)
    data = load_mnist(validation_fraction=0.0)
    with open(out_dir.parent / "train.log", "w") as log:
        Trainer(model, get_optimizer("adam", learning_rate=0.002), config, stream=log).fit(data)
    return export_model(model, out_dir)


def default_model_dir() -> Path:
    """A folder with model.json + shards for the server's `default` model."""
    if (SHIPPED_DEFAULT / "model.json").is_file():
        return SHIPPED_DEFAULT
    if not (CACHED / "model.json").is_file():
        CACHED.parent.mkdir(parents=True, exist_ok=True)
        scratch = CACHED.with_name(CACHED.name + ".partial")
        shutil.rmtree(scratch, ignore_errors=True)
        train_small_mlp(scratch)
        scratch.replace(CACHED)
    return CACHED
