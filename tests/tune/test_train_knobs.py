"""The knobs `shadernet tune` searches that `shadernet train` gained: dropout rate, momentum,
beta_1. Their defaults leave the models and optimizers exactly as before."""

from __future__ import annotations

import re

import pytest

from model_export.layers import Dropout
from model_export.train import ConfigError, TrainConfig, build_model, build_optimizer


def _config(**options) -> TrainConfig:
    config = TrainConfig(**options).resolved()
    config.validate()
    return config


def _dropout_rates(config: TrainConfig) -> list[float]:
    return [layer.rate for layer in build_model(config).layers if isinstance(layer, Dropout)]


@pytest.mark.parametrize("arch, rate", [("mlp", 0.2), ("cnn", 0.25)])
def test_default_dropout_is_unchanged(arch, rate):
    assert _dropout_rates(_config(arch=arch)) == [rate]


def test_dropout_rate_reaches_the_layer():
    assert _dropout_rates(_config(arch="cnn", dropout=0.4)) == [0.4]


def test_momentum_and_beta_1_reach_the_optimizer():
    assert build_optimizer(_config(optimizer="nesterov", momentum=0.7)).momentum == 0.7
    assert build_optimizer(_config(optimizer="adam", beta_1=0.85)).beta_1 == 0.85
    defaults = build_optimizer(_config(optimizer="momentum")).get_config()
    assert defaults == build_optimizer(_config(optimizer="momentum", momentum=0.9)).get_config()


@pytest.mark.parametrize("options, message", [
    ({"dropout": 1.0}, "--dropout: expected a rate in [0, 1), got 1.0"),
    ({"optimizer": "sgd", "momentum": 0.9},
     "--momentum applies to the momentum and nesterov optimizers only, not sgd"),
    ({"optimizer": "rmsprop", "beta_1": 0.9}, "--beta-1 applies to the adam optimizer only"),
    ({"optimizer": "adam", "beta_1": 1.0}, "--beta-1: expected a number in [0, 1), got 1.0"),
])
def test_knob_out_of_range_is_refused(options, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        _config(**options)
