"""best.json: the winning trial's training options, which `shadernet train --config` reads.

The file holds `shadernet train` options under their TrainConfig names. It leaves out
`epochs` and `subset`, so the full training uses the architecture's epochs on all of
MNIST; the search's short runs only had to rank the configurations.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import fields
from pathlib import Path
from typing import Any

from model_export.train import ConfigError, TrainConfig

_INT = ("epochs", "batch_size", "decay_steps", "seed", "subset", "patience")
_FLOAT = ("learning_rate", "decay_rate", "lr_floor", "dropout", "momentum", "beta_1", "l2",
          "validation_fraction")
_TEXT = ("arch", "optimizer", "decay", "output")
_BOOL = ("augment",)
OPTION_NAMES = _INT + _FLOAT + _TEXT + _BOOL
assert set(OPTION_NAMES) == {f.name for f in fields(TrainConfig)} - {"extra"}


def best_options(arch: str, options: dict[str, Any], seed: int,
                 validation_fraction: float) -> dict[str, Any]:
    return {"arch": arch, **options, "seed": seed, "validation_fraction": validation_fraction}


def train_command(config_path: Path, output: Path) -> str:
    return f"shadernet train --config {config_path} --output {output}"


def flags_command(options: dict[str, Any]) -> str:
    """The same run as explicit flags (`learning_rate` is `--lr`)."""
    flag = {"learning_rate": "--lr", "validation_fraction": "--validation"}
    parts = ["shadernet train"]
    for name, value in options.items():
        parts.append(f"{flag.get(name, '--' + name.replace('_', '-'))} {value}")
    return " ".join(parts)


def write_json_atomic(path: Path, content: Any) -> None:
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".part",
                                     delete=False) as handle:
        json.dump(content, handle, indent=2)
        handle.write("\n")
    os.chmod(handle.name, 0o644)  # NamedTemporaryFile makes it private
    os.replace(handle.name, path)


def read_train_options(path: Path) -> dict[str, Any]:
    """The options of a --config file, type-checked; None values are left out."""
    try:
        raw = json.loads(path.read_text())
    except OSError as error:
        raise ConfigError(f"--config {path}: cannot read it ({error.strerror})") from error
    except json.JSONDecodeError as error:
        raise ConfigError(f"--config {path}: not valid JSON: {error}") from error
    if not isinstance(raw, dict):
        raise ConfigError(f"--config {path}: expected a JSON object of train options")
    options = {}
    for name, value in raw.items():
        if name not in OPTION_NAMES:
            raise ConfigError(f"--config {path}: unknown option '{name}'. Expected one of: "
                              f"{', '.join(sorted(OPTION_NAMES))}")
        if value is not None:
            options[name] = _checked(path, name, value)
    return options


def _checked(path: Path, name: str, value: Any) -> Any:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if name in _INT and number and float(value).is_integer():
        return int(value)
    if name in _FLOAT and number:
        return float(value)
    if (name in _TEXT and isinstance(value, str)) or (name in _BOOL and isinstance(value, bool)):
        return value
    kind = ("an integer" if name in _INT else "a number" if name in _FLOAT
            else "true or false" if name in _BOOL else "a string")
    raise ConfigError(f"--config {path}: {name}: expected {kind}, got {value!r}")
