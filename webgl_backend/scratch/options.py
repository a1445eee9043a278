"""The options of `ScratchSession.train`: read from a dict or a JS object, filled from the
rung's defaults (webgl_backend.ladder), every refusal naming the option, the value and
what is allowed."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from webgl_backend.host_data import to_py
from webgl_backend.ladder import Rung
from webgl_backend.ops.optimizers import OPTIMIZER_TARGETS
from webgl_backend.training import MAX_TRAIN_BATCH
from webgl_backend.training.schedules import exponential_decay

DECAYS = ("none", "exponential")
MIN_TRAIN_IMAGES = 1000
MAX_TRAIN_IMAGES = 60000
MAX_VALIDATION_IMAGES = 5000
MAX_EPOCHS = 1000


class OptionError(ValueError):
    """A training option is unknown or out of range."""


@dataclass(frozen=True)
class ScratchOptions:
    optimizer: str
    learning_rate: float
    decay: str
    lr_floor: float
    decay_steps: int
    decay_rate: float
    batch_size: int
    dropout: float
    epochs: int
    train_images: int
    validation_images: int
    seed: int

    @property
    def trained_images(self) -> int:
        """Images trained on: the first train_images less the validation ones at their end."""
        return self.train_images - self.validation_images

    def schedule(self):
        """The learning-rate schedule (None: constant)."""
        if self.decay == "none":
            return None
        return exponential_decay(self.learning_rate, self.decay_steps, self.decay_rate,
                                 self.lr_floor)

    def as_dict(self) -> dict:
        return asdict(self)


OPTION_NAMES = tuple(f.name for f in fields(ScratchOptions))


def _refuse(name: str, expected: str, value) -> OptionError:
    return OptionError(f"train: option '{name}' must be {expected}, got {value!r}")


def _integer(name: str, value, low: int, high: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _refuse(name, f"an integer in [{low}, {high}]", value)
    return value


def _number(name: str, value, low: float, high: float, high_open: bool = False) -> float:
    ok = (not isinstance(value, bool) and isinstance(value, (int, float))
          and math.isfinite(value) and low <= value and (value < high if high_open
                                                         else value <= high))
    if not ok:
        bracket = ")" if high_open else "]"
        raise _refuse(name, f"a number in [{low}, {high}{bracket}", value)
    return float(value)


def _decay_rate(value) -> float:
    rate = _number("decay_rate", value, 0.0, 1.0)
    if rate == 0.0:
        raise _refuse("decay_rate", "a number in (0, 1]", value)
    return rate


def read_options(options, rung: Rung, images_given: int) -> ScratchOptions:
    """Options (dict, JS object or None) for training `rung` on `images_given` images."""
    values = dict(to_py(options)) if options is not None else {}
    unknown = sorted(set(values) - set(OPTION_NAMES))
    if unknown:
        raise OptionError(f"train: unknown option(s) {', '.join(map(repr, unknown))}; "
                          f"allowed: {', '.join(OPTION_NAMES)}")
    merged = {**rung.defaults(), "seed": 0, **values}
    optimizer = merged["optimizer"]
    if optimizer not in OPTIMIZER_TARGETS:
        raise _refuse("optimizer", f"one of {', '.join(OPTIMIZER_TARGETS)}", optimizer)
    if merged["decay"] not in DECAYS:
        raise _refuse("decay", f"one of {', '.join(DECAYS)}", merged["decay"])
    learning_rate = _number("learning_rate", merged["learning_rate"], 0.0, 10.0)
    if learning_rate == 0.0:
        raise _refuse("learning_rate", "a number in (0, 10]", merged["learning_rate"])
    most = min(MAX_TRAIN_IMAGES, images_given)
    if most < MIN_TRAIN_IMAGES:
        raise OptionError(f"train: set_data gave {images_given} training images; training "
                          f"needs at least {MIN_TRAIN_IMAGES}")
    train_images = _integer("train_images", merged.get("train_images", most),
                            MIN_TRAIN_IMAGES, most)
    default_validation = min(MAX_VALIDATION_IMAGES, train_images // 10)
    validation = _integer("validation_images", merged.get("validation_images",
                                                          default_validation),
                          0, train_images - 1)
    return ScratchOptions(
        optimizer=optimizer, learning_rate=learning_rate, decay=merged["decay"],
        # The floor bounds the decay only; without decay any floor means nothing.
        lr_floor=_number("lr_floor", merged["lr_floor"], 0.0,
                         learning_rate if merged["decay"] == "exponential" else math.inf),
        decay_steps=_integer("decay_steps", merged["decay_steps"], 1, 10 ** 9),
        decay_rate=_decay_rate(merged["decay_rate"]),
        batch_size=_integer("batch_size", merged["batch_size"], 1, MAX_TRAIN_BATCH),
        dropout=_number("dropout", merged["dropout"], 0.0, 1.0, high_open=True),
        epochs=_integer("epochs", merged["epochs"], 1, MAX_EPOCHS),
        train_images=train_images, validation_images=validation,
        seed=_integer("seed", merged["seed"], 0, 2 ** 31 - 1))
