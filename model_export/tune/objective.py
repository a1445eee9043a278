"""One trial: train a sampled configuration, report validation accuracy after every epoch.

The search only ever sees the training split, which it divides into training and
validation data; the MNIST test split is not even loaded, so hyperparameters cannot be
fitted to it (the test set is for the final `shadernet train --config best.json`).
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna

from model_export import data as mnist
from model_export.train import TrainConfig, Trainer, build_model, build_optimizer
from model_export.tune.space import Entry, sample


@dataclass(frozen=True)
class SearchSettings:
    """What every trial of one study shares (stored with the study, checked on join)."""
    arch: str
    epochs: int
    subset: int | None
    validation_fraction: float
    seed: int  # the training seed: weights, shuffling and the validation split

    def train_options(self) -> dict[str, Any]:
        return {"arch": self.arch, "epochs": self.epochs, "subset": self.subset,
                "validation_fraction": self.validation_fraction, "seed": self.seed}


def load_search_data(settings: SearchSettings) -> mnist.Mnist:
    """Training and validation data as `shadernet train` splits them; an empty test split."""
    train = mnist.load_split("train")
    order = np.random.default_rng(settings.seed).permutation(len(train))
    if settings.subset is not None:
        order = order[:settings.subset]
    n_val = int(round(len(order) * settings.validation_fraction))
    val_idx, train_idx = order[:n_val], order[n_val:]
    empty = mnist.Split(train.x[:0], train.y[:0])
    return mnist.Mnist(mnist.Split(train.x[train_idx], train.y[train_idx]),
                       mnist.Split(train.x[val_idx], train.y[val_idx]), empty)


class Objective:
    """Callable for `study.optimize`: returns the last epoch's validation accuracy."""

    def __init__(self, settings: SearchSettings, space: dict[str, Entry], data: mnist.Mnist):
        self.settings, self.space, self.data = settings, space, data

    def __call__(self, trial: optuna.Trial) -> float:
        options = sample(trial, self.space)
        config = TrainConfig(**self.settings.train_options(), **options).resolved()
        # The decay floor may not exceed the initial rate; a rate sampled below the
        # architecture's floor simply stays constant.
        config.lr_floor = min(config.lr_floor, config.learning_rate)
        config.validate()
        started = time.perf_counter()
        trial.set_user_attr("options", options)
        last_epoch = config.epochs

        def on_epoch(record: dict) -> None:
            epoch = record["epoch"]
            trial.report(record["val_accuracy"], epoch)
            trial.set_user_attr("val_loss", record["val_loss"])
            trial.set_user_attr("val_accuracy", record["val_accuracy"])
            trial.set_user_attr("epochs_run", epoch)
            trial.set_user_attr("seconds", time.perf_counter() - started)
            # Pruning after the last epoch would save nothing and throw a finished result away.
            if epoch < last_epoch and trial.should_prune():
                raise optuna.TrialPruned(f"epoch {epoch}: validation accuracy "
                                         f"{record['val_accuracy']:.4f} below the median")

        trainer = Trainer(build_model(config), build_optimizer(config), config,
                          stream=io.StringIO(), on_epoch=on_epoch)
        try:
            history = trainer.fit(self.data)
        except FloatingPointError:
            # A diverging learning rate is an answer about the space, not a crash.
            trial.set_user_attr("diverged", True)
            trial.set_user_attr("seconds", time.perf_counter() - started)
            raise optuna.TrialPruned("loss diverged")
        return float(history["epochs"][-1]["val_accuracy"])
