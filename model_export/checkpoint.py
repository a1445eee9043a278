"""Resumable checkpoints: one `.npz` holding weights, optimizer state and the configs.

Layout (all plain arrays, loadable with `allow_pickle=False`):
    weights/<layer>/<weight>   float32 arrays, in model order
    optimizer/<key>            the optimizer's `state_dict()`
    model_config, train_config, history, optimizer_config   JSON text (0-d unicode arrays)
Writes go to a temporary file in the same folder, then `os.replace`, so a crash never leaves
a half-written checkpoint over a good one.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model_export.model import Sequential


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable or inconsistent."""


@dataclass
class Checkpoint:
    model: Sequential
    optimizer_config: dict
    optimizer_state: dict[str, np.ndarray]
    train_config: dict
    history: dict


def save_checkpoint(path: Path, model: Sequential, optimizer, train_config: dict,
                    history: dict) -> Path:
    path = Path(path)
    arrays: dict[str, np.ndarray] = {f"weights/{name}": value for name, value in model.get_weights()}
    arrays.update({f"optimizer/{key}": np.asarray(value)
                   for key, value in optimizer.state_dict().items()})
    for key, value in (("model_config", model.get_config()), ("train_config", train_config),
                       ("history", history), ("optimizer_config", optimizer.get_config())):
        arrays[key] = np.array(json.dumps(value))
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, **arrays)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: Path) -> Checkpoint:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise CheckpointError(f"{path}: not a readable checkpoint ({error})") from error
    missing = [k for k in ("model_config", "train_config", "history", "optimizer_config")
               if k not in arrays]
    if missing:
        raise CheckpointError(f"{path}: missing {', '.join(missing)}; not a shadernet checkpoint")
    try:
        configs = {k: json.loads(str(arrays[k])) for k in
                   ("model_config", "train_config", "history", "optimizer_config")}
        model = Sequential.from_config(configs["model_config"])
    except ValueError as error:
        raise CheckpointError(f"{path}: {error}") from error
    weights = []
    for name, current in model.get_weights():
        key = f"weights/{name}"
        if key not in arrays:
            raise CheckpointError(f"{path}: weight '{name}' is missing")
        value = arrays[key]
        if value.shape != current.shape:
            raise CheckpointError(f"{path}: weight '{name}' has shape {value.shape}, "
                                  f"the model needs {current.shape}")
        if not np.all(np.isfinite(value)):
            raise CheckpointError(f"{path}: weight '{name}' holds NaN or infinite values")
        weights.append(value)
    model.set_weights(weights)
    state = {key[len("optimizer/"):]: value for key, value in arrays.items()
             if key.startswith("optimizer/")}
    return Checkpoint(model, configs["optimizer_config"], state, configs["train_config"],
                      configs["history"])
