"""The seeds' ladder: the named architectures a person walks up ("TensorFlow and deep
learning, without a PhD"), one table read by the page (`webgl_backend.scratch`) and by
the desktop trainer (`model_export.architectures`, `shadernet train --arch NAME`), so
both build the same layers with the same training defaults.

Each rung's layers are Keras-style dicts ({"class_name": "Dense", "units": 10,
"activation": "softmax"}). `dropout` is the rate of the rung's Dropout layers: a rung
that has some gets their rate replaced (0 keeps them, as the identity); a rung without
gets one Dropout before the classifier when the rate is above 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from webgl_backend.errors import invalid_argument

MNIST_INPUT_SHAPE = (28, 28, 1)
# The tutorial's schedule: lr = max(floor, lr0 * exp(-step / 2000)).
TUTORIAL_DECAY_RATE = 1.0 / math.e
DROPOUT_RATE = 0.25


@dataclass(frozen=True)
class Rung:
    """One architecture of the ladder: its layers and how it trains by default."""

    name: str
    title: str
    description: str
    layers: tuple[dict, ...]
    optimizer: str = "adam"
    learning_rate: float = 0.003
    decay: str = "none"
    lr_floor: float = 0.0001
    decay_steps: int = 2000
    decay_rate: float = TUTORIAL_DECAY_RATE
    batch_size: int = 100
    dropout: float = 0.0
    epochs: int = 1

    def defaults(self) -> dict:
        return {"optimizer": self.optimizer, "learning_rate": self.learning_rate,
                "decay": self.decay, "lr_floor": self.lr_floor,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "batch_size": self.batch_size, "dropout": self.dropout, "epochs": self.epochs}


def _dense(units: int, activation: str) -> dict:
    return {"class_name": "Dense", "units": units, "activation": activation}


def _conv(filters: int, size: int, stride: int) -> dict:
    return {"class_name": "Conv2D", "filters": filters, "kernel_size": [size, size],
            "strides": [stride, stride], "padding": "same", "activation": "relu"}


FLATTEN = {"class_name": "Flatten"}
DROPOUT = {"class_name": "Dropout", "rate": DROPOUT_RATE}
HIDDEN = (200, 100, 60, 30)


def _mlp5(activation: str, dropout: bool = False) -> tuple[dict, ...]:
    layers: list[dict] = [FLATTEN]
    for units in HIDDEN:
        layers.append(_dense(units, activation))
        if dropout:
            layers.append(DROPOUT)
    return tuple(layers + [_dense(10, "softmax")])


RUNGS = (
    Rung("softmax", "One-layer softmax",
         "Each pixel votes for each digit through one weight: 784 -> 10, softmax. "
         "About 92% on MNIST.",
         (FLATTEN, _dense(10, "softmax"))),
    Rung("mlp5_sigmoid", "Five layers, sigmoid",
         "Hidden layers of 200, 100, 60 and 30 sigmoid units, then softmax 10.",
         _mlp5("sigmoid"), epochs=2),
    Rung("mlp5_relu", "Five layers, ReLU",
         "The same five layers with ReLU: trains faster and further than sigmoid.",
         _mlp5("relu"), epochs=2),
    Rung("mlp5_relu_decay", "Five layers, ReLU, learning-rate decay",
         "ReLU, with the learning rate decaying exponentially from 0.003 to 0.0001: the "
         "late noise of the loss curve calms down.",
         _mlp5("relu"), decay="exponential", epochs=5),
    Rung("mlp5_dropout", "Five layers, ReLU, decay and dropout",
         "Dropout (0.25) after every hidden layer while training: less overfitting. "
         "About 98%.",
         _mlp5("relu", dropout=True), decay="exponential", dropout=DROPOUT_RATE, epochs=5),
    Rung("cnn", "Convolutional network 6/12/24",
         "Three convolutions (6@6x6, 12@5x5 stride 2, 24@4x4 stride 2), dense 200 with "
         "dropout, softmax 10. About 99%.",
         (_conv(6, 6, 1), _conv(12, 5, 2), _conv(24, 4, 2), FLATTEN, _dense(200, "relu"),
          DROPOUT, _dense(10, "softmax")),
         decay="exponential", dropout=DROPOUT_RATE, epochs=15),
)
LADDER = {rung.name: rung for rung in RUNGS}


def rung(name: str) -> Rung:
    """The rung called `name`; a ValueError names the known ones otherwise."""
    found = LADDER.get(name) if isinstance(name, str) else None
    if found is None:
        raise ValueError(invalid_argument("ladder", "name",
                                          f"one of {', '.join(LADDER)}", name))
    return found


def layers_with_dropout(name: str, dropout: float | None = None) -> list[dict]:
    """The rung's layers with its Dropout layers at `dropout` (None: the rung's default)."""
    entry = rung(name)
    rate = entry.dropout if dropout is None else dropout
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
        raise ValueError(invalid_argument("ladder", "dropout", "a rate in [0, 1)", rate))
    layers = [dict(layer) for layer in entry.layers]
    dropouts = [layer for layer in layers if layer["class_name"] == "Dropout"]
    for layer in dropouts:
        layer["rate"] = float(rate)
    if not dropouts and rate > 0:
        layers.insert(len(layers) - 1, {"class_name": "Dropout", "rate": float(rate)})
    return layers


def output_shapes(layers: list[dict], input_shape=MNIST_INPUT_SHAPE) -> list[tuple[int, ...]]:
    """Per layer its output shape (without the batch), NHWC."""
    shape, shapes = tuple(input_shape), []
    for layer in layers:
        kind = layer["class_name"]
        if kind == "Flatten":
            shape = (math.prod(shape),)
        elif kind == "Dense":
            shape = (layer["units"],)
        elif kind == "Conv2D":
            strides = layer["strides"]
            shape = (-(-shape[0] // strides[0]), -(-shape[1] // strides[1]), layer["filters"])
        shapes.append(shape)
    return shapes


def weight_shapes(layers: list[dict], input_shape=MNIST_INPUT_SHAPE) -> list[list[tuple]]:
    """Per layer its weights' shapes in Keras order (kernel, bias); [] for no weights."""
    shapes, shape = [], tuple(input_shape)
    for layer, out in zip(layers, output_shapes(layers, input_shape)):
        if layer["class_name"] == "Dense":
            shapes.append([(shape[-1], layer["units"]), (layer["units"],)])
        elif layer["class_name"] == "Conv2D":
            shapes.append([tuple(layer["kernel_size"]) + (shape[-1], layer["filters"]),
                           (layer["filters"],)])
        else:
            shapes.append([])
        shape = out
    return shapes


def parameter_count(layers: list[dict], input_shape=MNIST_INPUT_SHAPE) -> int:
    return sum(math.prod(s) for per_layer in weight_shapes(layers, input_shape)
               for s in per_layer)


def ladder() -> list[dict]:
    """The ladder for display, in order (see the page's contract)."""
    return [{"name": entry.name, "title": entry.title, "description": entry.description,
             "layers": layers_with_dropout(entry.name),
             "parameters": parameter_count(layers_with_dropout(entry.name)),
             "defaults": entry.defaults()} for entry in RUNGS]
