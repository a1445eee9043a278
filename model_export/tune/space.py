"""The search space: which hyperparameters a trial samples, and from which range.

Each architecture has a documented default (`DEFAULT_SPACES`); a `--space` file (JSON or
TOML) replaces the entries it names and keeps the rest. An entry is a range
(`{"low": 1e-4, "high": 0.1, "log": true}`), a list of choices (`{"choices": [32, 64]}`)
or a plain value, which fixes that hyperparameter for every trial.

`momentum` is only sampled for the momentum and nesterov optimizers and `beta_1` only for
adam, so a trial never carries a value that its optimizer ignores.
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Union

from model_export.train import OPTIMIZERS


class SpaceError(ValueError):
    """A search-space file or entry is malformed."""


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class Choices:
    values: tuple


@dataclass(frozen=True)
class Fixed:
    value: Any


Entry = Union[Range, Choices, Fixed]


@dataclass(frozen=True)
class Parameter:
    kind: str                            # "float", "int" or "category"
    allowed: Callable[[Any], bool]       # the values the trainer accepts
    expected: str                        # ... said in words, for error messages
    optimizers: tuple[str, ...] = ()     # only sampled for these optimizers; () means all


PARAMETERS = {  # in sampling order: optimizer before the options that depend on it
    "learning_rate": Parameter("float", lambda v: 0 < v < math.inf, "a positive number"),
    "l2": Parameter("float", lambda v: 0 <= v < math.inf, "a non-negative number"),
    "batch_size": Parameter("int", lambda v: v >= 1, "a positive integer"),
    "dropout": Parameter("float", lambda v: 0 <= v < 1, "a rate in [0, 1)"),
    "optimizer": Parameter("category", lambda v: v in OPTIMIZERS,
                           "one of " + ", ".join(OPTIMIZERS)),
    "momentum": Parameter("float", lambda v: 0 <= v < 1, "a number in [0, 1)",
                          optimizers=("momentum", "nesterov")),
    "beta_1": Parameter("float", lambda v: 0 <= v < 1, "a number in [0, 1)",
                        optimizers=("adam",)),
    "decay_rate": Parameter("float", lambda v: 0 < v <= 1, "a number in (0, 1]"),
}

_COMMON: dict[str, Entry] = {
    "l2": Range(1e-7, 1e-3, log=True),
    "dropout": Range(0.0, 0.5),
    "optimizer": Choices(OPTIMIZERS),
    "momentum": Range(0.5, 0.99),
    "beta_1": Range(0.8, 0.99),
    "decay_rate": Range(0.1, 1.0),
}
DEFAULT_SPACES: dict[str, dict[str, Entry]] = {
    "mlp": {"learning_rate": Range(1e-4, 0.1, log=True),
            "batch_size": Choices((32, 64, 128, 256)), **_COMMON},
    "cnn": {"learning_rate": Range(1e-4, 0.03, log=True),
            "batch_size": Choices((32, 64, 100, 128)), **_COMMON},
    # No Dropout layer: BatchNormalization regularises it.
    "cnn_bn": {"learning_rate": Range(1e-4, 0.03, log=True),
               "batch_size": Choices((32, 64, 100, 128)),
               **{name: entry for name, entry in _COMMON.items() if name != "dropout"}},
}


def default_space(arch: str) -> dict[str, Entry]:
    return dict(DEFAULT_SPACES[arch])


def load_space(path: Path, arch: str) -> dict[str, Entry]:
    """The default space of `arch` with the entries of the file at `path` put in."""
    try:
        text = path.read_text()
    except OSError as error:
        raise SpaceError(f"{path}: cannot read the search space ({error.strerror})") from error
    try:
        raw = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        kind = "TOML" if path.suffix == ".toml" else "JSON"
        raise SpaceError(f"{path}: not valid {kind}: {error}") from error
    if not isinstance(raw, dict) or not raw:
        raise SpaceError(f"{path}: expected an object of hyperparameter entries, e.g. "
                         '{"learning_rate": {"low": 0.0001, "high": 0.1, "log": true}}')
    space = default_space(arch)
    for name, spec in raw.items():
        space[name] = parse_entry(name, spec, str(path))
    return space


def parse_entry(name: str, spec: Any, where: str) -> Entry:
    """One entry of a space file, checked against what the trainer accepts."""
    if name not in PARAMETERS:
        raise SpaceError(f"{where}: unknown hyperparameter '{name}'. Expected one of: "
                         f"{', '.join(PARAMETERS)}")
    parameter = PARAMETERS[name]
    context = f"{where}: {name}"
    if not isinstance(spec, dict):
        return Fixed(_checked_value(spec, parameter, context))
    keys = set(spec)
    if keys == {"choices"}:
        return _parse_choices(spec["choices"], parameter, context)
    if keys in ({"low", "high"}, {"low", "high", "log"}):
        return _parse_range(spec, parameter, context)
    raise SpaceError(f"{context}: expected {{\"low\", \"high\"[, \"log\"]}} or {{\"choices\"}} "
                     f"or a plain value, got keys {sorted(keys)}")


def _parse_choices(values: Any, parameter: Parameter, context: str) -> Choices:
    if not isinstance(values, list) or not values:
        raise SpaceError(f"{context}: choices must be a non-empty list, got {values!r}")
    checked = tuple(_checked_value(v, parameter, context) for v in values)
    if len(set(checked)) != len(checked):
        raise SpaceError(f"{context}: choices repeat a value: {list(values)!r}")
    return Choices(checked)


def _parse_range(spec: dict, parameter: Parameter, context: str) -> Range:
    if parameter.kind == "category":
        raise SpaceError(f"{context}: is a category; give {{\"choices\": [...]}}, not a range")
    low, high = (_checked_value(spec[k], parameter, context) for k in ("low", "high"))
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise SpaceError(f"{context}: log must be true or false, got {log!r}")
    if not low < high:
        raise SpaceError(f"{context}: empty or inverted range [{low}, {high}] "
                         "(need low < high)")
    if log and low <= 0:
        raise SpaceError(f"{context}: a log range must stay above 0, got [{low}, {high}]")
    return Range(low, high, log)


def _checked_value(value: Any, parameter: Parameter, context: str) -> Any:
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if parameter.kind == "int" and not (numeric and float(value).is_integer()):
        raise SpaceError(f"{context}: expected an integer, got {value!r}")
    if parameter.kind == "float" and not (numeric and math.isfinite(value)):
        raise SpaceError(f"{context}: expected a number, got {value!r}")
    if parameter.kind == "category" and not isinstance(value, str):
        raise SpaceError(f"{context}: expected a name, got {value!r}")
    value = int(value) if parameter.kind == "int" else value
    value = float(value) if parameter.kind == "float" else value
    if not parameter.allowed(value):
        raise SpaceError(f"{context}: {value!r} is out of range: expected {parameter.expected}")
    return value


def sample(trial, space: dict[str, Entry]) -> dict[str, Any]:
    """Train options for one trial: `trial` (an optuna.Trial) samples every open entry."""
    options: dict[str, Any] = {}
    for name, parameter in PARAMETERS.items():
        entry = space[name]
        if parameter.optimizers and options["optimizer"] not in parameter.optimizers:
            continue
        if isinstance(entry, Fixed):
            options[name] = entry.value
        elif isinstance(entry, Choices):
            options[name] = trial.suggest_categorical(name, list(entry.values))
        elif parameter.kind == "int":
            options[name] = trial.suggest_int(name, int(entry.low), int(entry.high), log=entry.log)
        else:
            options[name] = trial.suggest_float(name, entry.low, entry.high, log=entry.log)
    return options


def space_to_json(space: dict[str, Entry]) -> dict[str, Any]:
    """The space as a `--space` file would write it (also stored with the study)."""
    out: dict[str, Any] = {}
    for name in PARAMETERS:
        entry = space[name]
        if isinstance(entry, Range):
            out[name] = {"low": entry.low, "high": entry.high, "log": entry.log}
        elif isinstance(entry, Choices):
            out[name] = {"choices": list(entry.values)}
        else:
            out[name] = entry.value
    return out


def is_log(space: dict[str, Entry], name: str) -> bool:
    entry = space.get(name)
    return isinstance(entry, Range) and entry.log
