"""Regenerate the Keras corpus: real tf-keras 2.21 models through the official converter.

Runs only when someone regenerates the corpus, never in CI, in its own virtual environment
(TensorFlow is no dependency of this project):

    python3 -m venv /tmp/keras-venv
    /tmp/keras-venv/bin/pip install tensorflow-cpu==2.21.0 tf-keras==2.21.0
    /tmp/keras-venv/bin/pip install --no-deps tensorflowjs==4.22.0
    /tmp/keras-venv/bin/python tests/keras_corpus/make_corpus.py --mnist .cache/mnist

`import tensorflowjs` pulls in tensorflow_decision_forests, tensorflow_hub and
jax.experimental.jax2tf, which `save_keras_model` never uses: empty stand-in modules are
registered below instead of installing them.

Each model becomes `<name>/` with the converter's `model.json` + shards and `expected.json`
({"inputs": file of float32 NHWC inputs, "input_shape", "probabilities": what Keras
predicted for them}); refusal cases become `refuse/<name>/` with `reason.json` (the layer,
key and value a reader must name). `tfjs_saved/` is made by `make_tfjs_saved.mjs` (TF.js's
own `model.save()`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import types
from pathlib import Path

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
for _stand_in in ("tensorflow_decision_forests", "tensorflow_hub", "jax", "jax.experimental"):
    sys.modules.setdefault(_stand_in, types.ModuleType(_stand_in))
sys.modules["jax.experimental"].jax2tf = None
sys.modules["jax"].experimental = sys.modules["jax.experimental"]

import numpy as np  # noqa: E402
import tensorflowjs  # noqa: E402
import tf_keras as keras  # noqa: E402
from tf_keras import layers as L  # noqa: E402

HERE = Path(__file__).resolve().parent
SMALL = (10, 10, 1)
MNIST = (28, 28, 1)
INPUTS_PER_MODEL = 3


def _randomise_batchnorm(model: keras.Model, rng: np.random.Generator) -> None:
    """Moving statistics and gamma/beta far from their (1, 0) defaults, so a reader that
    ignored or swapped any of them would predict something else."""
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            values = []
            for weight in layer.weights:
                shape = tuple(weight.shape)
                if weight.name.endswith(("moving_variance:0", "gamma:0")):
                    values.append(rng.uniform(0.5, 2.0, shape).astype(np.float32))
                else:
                    values.append(rng.normal(0.0, 0.5, shape).astype(np.float32))
            layer.set_weights(values)


# ----------------------------------------------------------------------------- models

def sequential_input_layer() -> keras.Model:
    return keras.Sequential([
        L.InputLayer(SMALL), L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(),
        L.Flatten(), L.Dense(10, activation="softmax")])


def sequential_first_layer_shape() -> keras.Model:
    return keras.Sequential([
        L.Conv2D(3, 3, strides=2, padding="same", activation="tanh", input_shape=SMALL,
                 name="first_conv"),
        L.AveragePooling2D(padding="same"), L.Flatten(),
        L.Dense(8, activation="sigmoid", name="hidden"), L.Dense(10, activation="softmax",
                                                                 name="probabilities")])


def functional_chain() -> keras.Model:
    inputs = keras.Input(SMALL, name="pixels")
    x = L.Conv2D(4, (3, 2), activation="relu", use_bias=False)(inputs)
    x = L.Flatten()(x)
    x = L.Dense(12, activation="elu")(x)
    outputs = L.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="functional_chain")


def conv_batchnorm() -> keras.Model:
    return keras.Sequential([
        L.InputLayer(SMALL), L.Conv2D(6, 3, padding="same", use_bias=False),
        L.BatchNormalization(), L.ReLU(),
        L.Conv2D(5, 3, strides=2), L.BatchNormalization(epsilon=0.01, momentum=0.9),
        L.Activation("relu"), L.GlobalAveragePooling2D(), L.Dense(10, activation="softmax")])


def dense_batchnorm() -> keras.Model:
    return keras.Sequential([
        L.InputLayer(SMALL), L.Flatten(), L.Dense(16), L.BatchNormalization(),
        L.Activation("relu"), L.Dense(12, use_bias=False), L.BatchNormalization(scale=False),
        L.ReLU(), L.BatchNormalization(center=False), L.Dense(10, activation="softmax")])


def global_max_pooling() -> keras.Model:
    inputs = keras.Input(SMALL)
    x = L.Conv2D(8, 3, activation="relu")(inputs)
    x = L.GlobalMaxPooling2D()(x)
    outputs = L.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def relu_variants() -> keras.Model:
    return keras.Sequential([
        L.InputLayer(SMALL), L.Flatten(), L.Dense(24), L.ReLU(max_value=0.6),
        L.Dense(24), L.ReLU(negative_slope=0.2), L.Dense(24),
        L.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.25), L.Dense(24),
        L.ReLU(threshold=0.1), L.Dense(10), L.Softmax()])


def elu_softmax() -> keras.Model:
    return keras.Sequential([
        L.InputLayer(SMALL), L.Conv2D(4, 3), L.ELU(alpha=0.7), L.Flatten(), L.Dense(16),
        L.ELU(), L.Dense(10), L.Softmax(axis=-1)])


def zero_padding() -> keras.Model:
    return keras.Sequential([
        L.InputLayer(SMALL), L.ZeroPadding2D(((1, 2), (0, 3))), L.Conv2D(4, 3, strides=2),
        L.ReLU(), L.ZeroPadding2D(1), L.MaxPooling2D(), L.ZeroPadding2D((2, 1)),
        L.Conv2D(3, 2), L.Flatten(), L.Dense(10, activation="softmax")])


def reshape() -> keras.Model:
    return keras.Sequential([
        L.InputLayer(SMALL), L.Reshape((100,)), L.Dense(48, activation="relu"),
        L.Reshape((4, 4, 3)), L.Conv2D(5, 2, activation="relu"), L.Reshape((45,)),
        L.Dense(10, activation="softmax")])


def keras_io_mnist() -> keras.Model:
    """The keras.io "Simple MNIST convnet" shape."""
    return keras.Sequential([
        keras.Input(MNIST), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
        L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
        L.Dropout(0.5), L.Dense(10, activation="softmax")])


def mnist_batchnorm_trained() -> keras.Model:
    """Trained on MNIST: Conv -> BN -> ReLU twice, global average pooling, Dense.

    momentum 0.9 lets the moving statistics settle within one short epoch."""
    return keras.Sequential([
        keras.Input(MNIST), L.Conv2D(16, 3, strides=2, padding="same", use_bias=False),
        L.BatchNormalization(momentum=0.9), L.ReLU(), L.Conv2D(32, 3, strides=2, padding="same"),
        L.BatchNormalization(momentum=0.9), L.ReLU(), L.Conv2D(32, 3, padding="same", activation="relu"),
        L.GlobalAveragePooling2D(), L.Dense(10, activation="softmax")])


MODELS = {
    "sequential_input_layer": (sequential_input_layer, SMALL),
    "sequential_first_layer_shape": (sequential_first_layer_shape, SMALL),
    "functional_chain": (functional_chain, SMALL),
    "conv_batchnorm": (conv_batchnorm, SMALL),
    "dense_batchnorm": (dense_batchnorm, SMALL),
    "global_max_pooling": (global_max_pooling, SMALL),
    "relu_variants": (relu_variants, SMALL),
    "elu_softmax": (elu_softmax, SMALL),
    "zero_padding": (zero_padding, SMALL),
    "reshape": (reshape, SMALL),
}
TRAINED = {"keras_io_mnist": keras_io_mnist, "mnist_batchnorm": mnist_batchnorm_trained}


# ----------------------------------------------------------------------------- refusals

def branchy() -> keras.Model:
    inputs = keras.Input((6,))
    x = L.Dense(4, name="trunk")(inputs)
    a, b = L.Dense(3, name="left")(x), L.Dense(3, name="right")(x)
    return keras.Model(inputs, L.Add(name="join")([a, b]))


REFUSALS = {
    "branchy_functional": (branchy, {"layer": "right", "key": "inbound_nodes", "value": "trunk"}),
    "dilation_rate_2": (lambda: keras.Sequential([
        L.InputLayer(SMALL), L.Conv2D(2, 3, dilation_rate=2, name="dilated"), L.Flatten()]),
        {"layer": "dilated", "key": "dilation_rate", "value": "[2, 2]"}),
    "groups_2": (lambda: keras.Sequential([
        L.InputLayer((8, 8, 4)), L.Conv2D(4, 3, groups=2, name="grouped"), L.Flatten()]),
        {"layer": "grouped", "key": "groups", "value": "2"}),
    "channels_first": (lambda: keras.Sequential([
        L.InputLayer((1, 8, 8)), L.MaxPooling2D(data_format="channels_first", name="cf_pool"),
        L.Flatten()]),
        {"layer": "cf_pool", "key": "data_format", "value": "channels_first"}),
    "unknown_layer_class": (lambda: keras.Sequential([
        L.InputLayer((6,)), L.Dense(4), L.LayerNormalization(name="norm")]),
        {"layer": "norm", "key": "class_name", "value": "LayerNormalization"}),
}


# ----------------------------------------------------------------------------- writing

def _fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def _write_expected(folder: Path, model: keras.Model, x: np.ndarray, extra: dict) -> None:
    probabilities = model.predict(x, verbose=0).astype(np.float32)
    (folder / "inputs.bin").write_bytes(x.astype("<f4").tobytes())
    expected = {"input_shape": list(x.shape), "inputs": "inputs.bin",
                "probabilities": [[float(v) for v in row] for row in probabilities], **extra}
    (folder / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


def write_random_models(rng: np.random.Generator) -> None:
    for name, (build, shape) in MODELS.items():
        keras.backend.clear_session()
        keras.utils.set_random_seed(int(rng.integers(1 << 30)))
        model = build()
        _randomise_batchnorm(model, rng)
        folder = _fresh_dir(HERE / name)
        tensorflowjs.converters.save_keras_model(model, str(folder))
        x = rng.uniform(0.0, 1.0, (INPUTS_PER_MODEL, *shape)).astype(np.float32)
        _write_expected(folder, model, x, {"source": "random weights"})
        print(f"{name}: {model.count_params()} parameters")


def _load_idx(path: Path) -> np.ndarray:
    data = path.read_bytes()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def _mnist(directory: Path, kind: str) -> tuple[np.ndarray, np.ndarray]:
    images = _load_idx(directory / f"{kind}-images-idx3-ubyte")
    labels = _load_idx(directory / f"{kind}-labels-idx1-ubyte")
    return (images.astype(np.float32) / np.float32(255.0))[..., None], labels.astype(np.int64)


def write_trained_models(mnist: Path, train_images: int) -> None:
    x_train, y_train = _mnist(mnist, "train")
    x_test, y_test = _mnist(mnist, "t10k")
    for name, build in TRAINED.items():
        keras.backend.clear_session()
        keras.utils.set_random_seed(1)
        model = build()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(x_train[:train_images], y_train[:train_images], batch_size=64, epochs=1,
                  verbose=2)
        _, accuracy = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
        folder = _fresh_dir(HERE / name)
        tensorflowjs.converters.save_keras_model(model, str(folder))
        _write_expected(folder, model, x_test[:INPUTS_PER_MODEL], {
            "source": f"trained in Keras: adam, batch 64, 1 epoch on the first {train_images} "
                      "MNIST training images; inputs are the first MNIST test images",
            "keras_test_accuracy": float(accuracy), "test_images": len(y_test)})
        print(f"{name}: Keras test accuracy {accuracy:.4f}")


def write_refusals() -> None:
    for name, (build, reason) in REFUSALS.items():
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        folder = _fresh_dir(HERE / "refuse" / name)
        tensorflowjs.converters.save_keras_model(build(), str(folder))
        (folder / "reason.json").write_text(json.dumps(reason, indent=1) + "\n")
        print(f"refuse/{name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", type=Path, required=True,
                        help="folder with the four uncompressed MNIST IDX files")
    parser.add_argument("--train-images", type=int, default=30000)
    args = parser.parse_args()
    rng = np.random.default_rng(11)
    write_random_models(rng)
    write_refusals()
    write_trained_models(args.mnist, args.train_images)


if __name__ == "__main__":
    main()
