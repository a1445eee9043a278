"""The training loop: mini-batches, progress bar, validation, early stopping, checkpoints.

`TrainConfig` holds every option of `shadernet train`; `validate()` rejects nonsense before
anything is written. `Trainer.fit()` runs the epochs, saving a resumable checkpoint after each
one, and returns the history that the report (`model_export.report`) plots.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, TextIO

import numpy as np

from model_export.architectures import ARCHITECTURES, MNIST_INPUT_SHAPE
from model_export.checkpoint import save_checkpoint
from model_export.data import Mnist, augment
from model_export.model import Sequential
from model_export.nn.optimizers import Optimizer, get_optimizer
from model_export.nn.schedules import ExponentialDecay, StepDecay

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
DECAYS = ("none", "exponential", "step")


class ConfigError(ValueError):
    """A training option is out of range or unknown."""


@dataclass
class TrainConfig:
    arch: str = "mlp"
    epochs: int | None = None          # None: the architecture's default
    batch_size: int | None = None
    optimizer: str | None = None
    learning_rate: float | None = None
    decay: str | None = None           # none | exponential | step
    decay_rate: float | None = None
    decay_steps: int | None = None
    lr_floor: float | None = None
    dropout: float | None = None       # None: the architecture's rate
    momentum: float | None = None      # momentum and nesterov only; None: the optimizer's 0.9
    beta_1: float | None = None        # adam only; None: the optimizer's 0.9
    l2: float = 0.0
    augment: bool = False
    seed: int = 0
    validation_fraction: float = 0.1
    subset: int | None = None
    patience: int | None = None        # early stopping on validation loss; None: off
    output: str = "runs/latest"
    extra: dict = field(default_factory=dict)

    def resolved(self) -> "TrainConfig":
        """A copy with the architecture's defaults filled in for options left as None."""
        if self.arch not in ARCHITECTURES:
            raise ConfigError(f"Unknown architecture '{self.arch}'. Expected one of: "
                              f"{', '.join(sorted(ARCHITECTURES))}.")
        defaults = ARCHITECTURES[self.arch]
        if defaults.dropout is None and self.dropout is not None:
            raise ConfigError(f"--dropout: architecture '{self.arch}' has no Dropout layer")
        values = asdict(self)
        for key in ("epochs", "batch_size", "optimizer", "learning_rate", "decay",
                    "decay_rate", "decay_steps", "lr_floor", "dropout"):
            if values[key] is None:
                values[key] = getattr(defaults, key)
        return TrainConfig(**values)

    def validate(self) -> None:
        """Raise ConfigError naming the option and value; call on a resolved config."""
        checks = [
            (self.epochs >= 1, "epochs", self.epochs, "a positive integer"),
            (self.batch_size >= 1, "batch-size", self.batch_size, "a positive integer"),
            (self.optimizer in OPTIMIZERS, "optimizer", self.optimizer,
             "one of " + ", ".join(OPTIMIZERS)),
            (math.isfinite(self.learning_rate) and self.learning_rate > 0, "lr",
             self.learning_rate, "a positive number"),
            (self.decay in DECAYS, "decay", self.decay, "one of " + ", ".join(DECAYS)),
            (0 < self.decay_rate <= 1, "decay-rate", self.decay_rate, "a number in (0, 1]"),
            (self.decay_steps >= 1, "decay-steps", self.decay_steps, "a positive integer"),
            (0 <= self.lr_floor <= self.learning_rate, "lr-floor", self.lr_floor,
             "a number in [0, lr]"),
            (self.dropout is None or 0 <= self.dropout < 1, "dropout", self.dropout,
             "a rate in [0, 1)"),
            (self.momentum is None or 0 <= self.momentum < 1, "momentum", self.momentum,
             "a number in [0, 1)"),
            (self.beta_1 is None or 0 <= self.beta_1 < 1, "beta-1", self.beta_1,
             "a number in [0, 1)"),
            (math.isfinite(self.l2) and self.l2 >= 0, "l2", self.l2, "a non-negative number"),
            (0 <= self.validation_fraction < 1, "validation", self.validation_fraction,
             "a fraction in [0, 1)"),
            (self.subset is None or self.subset >= 10, "subset", self.subset, "at least 10 images"),
            (self.patience is None or self.patience >= 1, "patience", self.patience,
             "a positive integer"),
        ]
        for ok, option, value, expected in checks:
            if not ok:
                raise ConfigError(f"--{option}: expected {expected}, got {value!r}")
        for option, value, owners in (("momentum", self.momentum, ("momentum", "nesterov")),
                                      ("beta-1", self.beta_1, ("adam",))):
            if value is not None and self.optimizer not in owners:
                raise ConfigError(f"--{option} applies to the {' and '.join(owners)} optimizer"
                                  f"{'s' if len(owners) > 1 else ''} only, not "
                                  f"{self.optimizer}")
        if self.patience is not None and self.validation_fraction == 0:
            raise ConfigError("--patience needs a validation split (--validation > 0)")


def build_model(config: TrainConfig) -> Sequential:
    regularizer = ({"class_name": "L1L2", "config": {"l1": 0.0, "l2": config.l2}}
                   if config.l2 else None)
    dropout = {} if config.dropout is None else {"dropout_rate": config.dropout}
    layers = ARCHITECTURES[config.arch].build_layers(kernel_regularizer=regularizer, **dropout)
    return Sequential(layers, MNIST_INPUT_SHAPE, seed=config.seed)


def build_optimizer(config: TrainConfig) -> Optimizer:
    if config.decay == "exponential":
        learning_rate = ExponentialDecay(config.learning_rate, config.decay_steps,
                                         config.decay_rate, floor=config.lr_floor)
    elif config.decay == "step":
        learning_rate = StepDecay(config.learning_rate, config.decay_steps, config.decay_rate)
    else:
        learning_rate = config.learning_rate
    options = {key: value for key, value in (("momentum", config.momentum),
                                             ("beta_1", config.beta_1)) if value is not None}
    return get_optimizer(config.optimizer, learning_rate=learning_rate, **options)


# ----------------------------------------------------------------------------- progress

class ProgressBar:
    """`epoch 3/15 [=========>      ] 312/540  ETA 0:07  loss 0.0712  acc 0.9781`.

    Redraws in place on a terminal; elsewhere (CI logs) prints about ten lines per epoch.
    """

    def __init__(self, total: int, label: str, stream: TextIO = sys.stderr, width: int = 28):
        self.total, self.label, self.stream, self.width = total, label, stream, width
        self.interactive = stream.isatty()
        self.start = time.perf_counter()
        self.last_draw = 0.0
        self.last_tenth = -1

    def update(self, done: int, loss: float, accuracy: float) -> None:
        now = time.perf_counter()
        tenth = 10 * done // self.total
        if self.interactive:
            if done < self.total and now - self.last_draw < 0.1:
                return
        elif tenth == self.last_tenth and done < self.total:
            return
        self.last_draw, self.last_tenth = now, tenth
        elapsed = now - self.start
        eta = elapsed / done * (self.total - done) if done else 0.0
        filled = self.width * done // self.total
        bar = "=" * filled + (">" if filled < self.width else "") + " " * (self.width - filled - 1)
        text = (f"{self.label} [{bar[:self.width]}] {done}/{self.total}  "
                f"{'ETA ' + _clock(eta) if done < self.total else _clock(elapsed) + ' total'}  "
                f"loss {loss:.4f}  acc {accuracy:.4f}")
        self.stream.write(("\r" + text) if self.interactive else text + "\n")
        self.stream.flush()

    def close(self, summary: str) -> None:
        self.stream.write(("\n" if self.interactive else "") + summary + "\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


# ----------------------------------------------------------------------------- loop

@dataclass
class _Best:
    val_loss: float
    epoch: int
    weights: list[np.ndarray] | None  # None when they were not kept (before a resume)


@dataclass
class Trainer:
    model: Sequential
    optimizer: Optimizer
    config: TrainConfig
    history: dict = field(default_factory=lambda: {"epochs": []})
    stream: TextIO = sys.stderr
    on_epoch: Callable[[dict], None] | None = None  # sees each epoch's record; may raise to stop

    def fit(self, data: Mnist, checkpoint_path: Path | None = None) -> dict:
        """Train for the remaining epochs; returns the history (one dict per epoch)."""
        rng = np.random.default_rng(self.config.seed + len(self.history["epochs"]))
        best = self._best_so_far()
        first = len(self.history["epochs"]) + 1
        for epoch in range(first, self.config.epochs + 1):
            record = self._run_epoch(epoch, data, rng)
            self.history["epochs"].append(record)
            if "val_loss" in record and (best is None or record["val_loss"] < best.val_loss):
                best = _Best(record["val_loss"], epoch, self._copy_weights())
            if checkpoint_path is not None:
                save_checkpoint(checkpoint_path, self.model, self.optimizer,
                                asdict(self.config), self.history)
            if self.on_epoch is not None:
                self.on_epoch(record)
            if self._should_stop(epoch, best):
                self._stop_early(epoch, best)
                if checkpoint_path is not None:  # what is exported is the epoch kept, not the last
                    save_checkpoint(checkpoint_path, self.model, self.optimizer,
                                    asdict(self.config), self.history)
                break
        return self.history

    def _copy_weights(self) -> list[np.ndarray]:
        return [w.copy() for _, w in self.model.get_weights()]

    def _best_so_far(self) -> "_Best | None":
        """The best validation epoch of a resumed history (None for a fresh run)."""
        epochs = [e for e in self.history["epochs"] if "val_loss" in e]
        if not epochs:
            return None
        record = min(epochs, key=lambda e: e["val_loss"])
        # A checkpoint holds the last epoch's weights only; an earlier best one's are gone.
        last = record["epoch"] == self.history["epochs"][-1]["epoch"]
        return _Best(record["val_loss"], record["epoch"], self._copy_weights() if last else None)

    def _should_stop(self, epoch: int, best: "_Best | None") -> bool:
        patience = self.config.patience
        return patience is not None and best is not None and epoch - best.epoch >= patience

    def _stop_early(self, epoch: int, best: "_Best") -> None:
        message = (f"early stopping: validation loss has not improved for "
                   f"{self.config.patience} epochs; ")
        if best.weights is None:
            message += (f"the best was epoch {best.epoch}, before the resumed checkpoint, so "
                        f"the weights of epoch {epoch} are kept")
        else:
            message += f"keeping epoch {best.epoch}"
            self.model.set_weights(best.weights)
            self.history["best_epoch"] = best.epoch
        self.stream.write(message + "\n")
        self.history["stopped_early_at"] = epoch

    def _run_epoch(self, epoch: int, data: Mnist, rng: np.random.Generator) -> dict:
        batch_size = self.config.batch_size
        order = rng.permutation(len(data.train))
        batches = math.ceil(len(order) / batch_size)
        bar = ProgressBar(batches, f"epoch {epoch}/{self.config.epochs}", self.stream)
        started = time.perf_counter()
        total_loss, total_correct, seen = 0.0, 0, 0
        learning_rate = self.optimizer.current_learning_rate()
        for index in range(batches):
            batch = order[index * batch_size:(index + 1) * batch_size]
            x, labels = data.train.x[batch], data.train.y[batch]
            if self.config.augment:
                x = augment(x, rng)
            loss, probs = self.model.train_step_gradients(x, labels)
            if not math.isfinite(loss):
                raise FloatingPointError(f"epoch {epoch}, batch {index + 1}: loss became {loss}; "
                                         "try a smaller learning rate")
            self.optimizer.apply(self.model.parameters(), self.model.gradients())
            total_loss += loss * len(batch)
            total_correct += int(np.sum(probs.argmax(axis=1) == labels))
            seen += len(batch)
            bar.update(index + 1, total_loss / seen, total_correct / seen)
        record = {"epoch": epoch, "train_loss": total_loss / seen,
                  "train_accuracy": total_correct / seen, "learning_rate": learning_rate,
                  "seconds": time.perf_counter() - started}
        summary = f"  train loss {record['train_loss']:.4f} acc {record['train_accuracy']:.4f}"
        if len(data.validation):
            val_loss, val_accuracy = self.model.evaluate(data.validation.x, data.validation.y)
            record.update(val_loss=val_loss, val_accuracy=val_accuracy)
            summary += f"  |  val loss {val_loss:.4f} acc {val_accuracy:.4f}"
        bar.close(summary + f"  |  {record['seconds']:.1f}s")
        return record
