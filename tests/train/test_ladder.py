"""The seeds' ladder on the desktop: one table (webgl_backend.ladder) builds the numpy layers of
`shadernet train --arch NAME`; `cnn` is the very model it was before the table; every rung
trains from the command line."""

import json

import pytest

from model_export.architectures import ARCHITECTURES, MNIST_INPUT_SHAPE
from model_export.cli import main
from model_export.layers import Conv2D, Dense, Dropout, Flatten
from model_export.model import Sequential
from webgl_backend.ladder import LADDER, ladder, layers_with_dropout, parameter_count


def _cnn_before_the_table(dropout_rate: float = 0.25) -> list:
    return [
        Conv2D(6, (6, 6), strides=(1, 1), padding="same", activation="relu"),
        Conv2D(12, (5, 5), strides=(2, 2), padding="same", activation="relu"),
        Conv2D(24, (4, 4), strides=(2, 2), padding="same", activation="relu"),
        Flatten(), Dense(200, activation="relu"), Dropout(dropout_rate),
        Dense(10, activation="softmax"),
    ]


@pytest.mark.parametrize("dropout", [None, 0.0, 0.4])
def test_cnn_is_the_model_it_was(dropout):
    kwargs = {} if dropout is None else {"dropout_rate": dropout}
    built = Sequential(ARCHITECTURES["cnn"].build_layers(**kwargs), MNIST_INPUT_SHAPE, seed=3)
    before = Sequential(_cnn_before_the_table(0.25 if dropout is None else dropout),
                        MNIST_INPUT_SHAPE, seed=3)
    assert built.get_config() == before.get_config()
    for (name, a), (_, b) in zip(built.get_weights(), before.get_weights()):
        assert (a == b).all(), name


def test_every_rung_is_an_architecture_with_the_tables_defaults():
    assert [r["name"] for r in ladder()] == ["softmax", "mlp5_sigmoid", "mlp5_relu",
                                            "mlp5_relu_decay", "mlp5_dropout", "cnn"]
    for entry in ladder():
        arch = ARCHITECTURES[entry["name"]]
        defaults = entry["defaults"]
        assert (arch.optimizer, arch.learning_rate, arch.batch_size, arch.epochs, arch.decay,
                arch.dropout, arch.lr_floor, arch.decay_steps) == (
            defaults["optimizer"], defaults["learning_rate"], defaults["batch_size"],
            defaults["epochs"], defaults["decay"], defaults["dropout"], defaults["lr_floor"],
            defaults["decay_steps"])
        model = Sequential(arch.build_layers(), MNIST_INPUT_SHAPE, seed=0)
        assert model.count_params() == entry["parameters"], entry["name"]


def test_the_five_layer_ladder_and_its_dropout_rule():
    relu = Sequential(ARCHITECTURES["mlp5_relu"].build_layers(), MNIST_INPUT_SHAPE)
    assert [layer.units for layer in relu.layers if isinstance(layer, Dense)] == \
        [200, 100, 60, 30, 10]
    assert {layer.activation for layer in relu.layers[1:-1]} == {"relu"}
    sigmoid = Sequential(ARCHITECTURES["mlp5_sigmoid"].build_layers(), MNIST_INPUT_SHAPE)
    assert {layer.activation for layer in sigmoid.layers[1:-1]} == {"sigmoid"}
    dropped = ARCHITECTURES["mlp5_dropout"].build_layers()
    assert [type(layer).__name__ for layer in dropped] == (
        ["Flatten"] + ["Dense", "Dropout"] * 4 + ["Dense"])
    assert {layer.rate for layer in dropped if isinstance(layer, Dropout)} == {0.25}
    # A rung without Dropout gets one before the classifier when a rate is asked for.
    assert [layer["class_name"] for layer in layers_with_dropout("softmax", 0.3)] == \
        ["Flatten", "Dropout", "Dense"]
    assert layers_with_dropout("softmax", 0.0) == [dict(layer) for layer in
                                                   LADDER["softmax"].layers]
    assert parameter_count(layers_with_dropout("softmax")) == 784 * 10 + 10


def test_ladder_refusals_name_the_value():
    with pytest.raises(ValueError, match="Expected one of softmax, mlp5_sigmoid.*Received "
                                         "name='resnet'"):
        layers_with_dropout("resnet")
    with pytest.raises(ValueError, match=r"Expected a rate in \[0, 1\). Received dropout=1.5"):
        layers_with_dropout("cnn", 1.5)


# Six steps leave the sigmoid stack near chance (it starts slowly, as in the tutorial).
@pytest.mark.parametrize("arch, accuracy", [("softmax", 0.5), ("mlp5_sigmoid", 0.0),
                                            ("mlp5_relu_decay", 0.4), ("mlp5_dropout", 0.3)])
def test_shadernet_train_runs_each_rung(arch, accuracy, tmp_path):
    out = tmp_path / arch
    assert main(["train", "--arch", arch, "--subset", "600", "--epochs", "1",
                 "--output", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["arch"] == arch
    assert metrics["test"]["accuracy"] > accuracy, metrics["test"]["accuracy"]
