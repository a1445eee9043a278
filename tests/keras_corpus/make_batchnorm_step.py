"""Regenerate `batchnorm_step/`: a tf-keras model with every kind of BatchNormalization the
page fine-tunes, through the official converter, and one training step Keras takes on it.

Runs only when someone regenerates the corpus, never in CI, in the venv `make_corpus.py`
describes:

    /tmp/keras-venv/bin/python tests/keras_corpus/make_batchnorm_step.py

The model has a BatchNormalization first (on the input: nothing to fold it into), after a
bias-free Conv2D (folded into it), after a MaxPooling2D (not foldable), after a Dense
(folded into it) and, without gamma, before the last Dense (folded into that one).
`step.npz` holds a batch (`x`, `labels`) and, per optimizer (`sgd`, `adam`), the loss and
every weight after one step from the file's weights, as Keras fine-tuning computes it:
BatchNormalization with `training=False` (moving statistics frozen, gamma and beta
trained), softmax cross-entropy from the last Dense's logits, averaged over the batch.
"""

from __future__ import annotations

import numpy as np

import make_corpus as corpus  # the converter stand-ins and the corpus writers
from make_corpus import HERE, L, keras, tensorflowjs

import tensorflow as tf  # noqa: E402  (after make_corpus set TF_USE_LEGACY_KERAS)

NAME = "batchnorm_step"
BATCH = 8
STEPS = {"sgd": lambda: keras.optimizers.SGD(learning_rate=0.1),
         "adam": lambda: keras.optimizers.Adam(learning_rate=1e-3, epsilon=1e-7)}


def batchnorm_step() -> keras.Model:
    return keras.Sequential([
        L.InputLayer(corpus.SMALL), L.BatchNormalization(),
        L.Conv2D(5, 3, use_bias=False), L.BatchNormalization(epsilon=0.01), L.ReLU(),
        L.MaxPooling2D(), L.BatchNormalization(),
        L.Flatten(), L.Dense(12), L.BatchNormalization(), L.Activation("relu"),
        L.BatchNormalization(scale=False), L.Dense(10, activation="softmax")])


def _logits(model: keras.Model, x: tf.Tensor) -> tf.Tensor:
    """The last Dense before its softmax, every BatchNormalization in inference mode."""
    h = x
    for layer in model.layers[:-1]:
        h = layer(h, training=False)
    last = model.layers[-1]
    return tf.matmul(h, last.kernel) + last.bias


def _step(model: keras.Model, optimizer: str, x: np.ndarray, labels: np.ndarray) -> dict:
    start = [w.copy() for w in model.get_weights()]
    trainable = model.trainable_variables
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=labels, logits=_logits(model, tf.constant(x))))
    gradients = tape.gradient(loss, trainable)
    STEPS[optimizer]().apply_gradients(zip(gradients, trainable))
    out = {f"{optimizer}/loss": np.float32(loss.numpy())}
    for weight in model.weights:
        name = weight.name.split(":")[0]
        out[f"{optimizer}/{name}"] = weight.numpy().astype(np.float32)
    model.set_weights(start)
    return out


def main() -> None:
    rng = np.random.default_rng(12)
    keras.backend.clear_session()
    keras.utils.set_random_seed(12)
    model = batchnorm_step()
    corpus._randomise_batchnorm(model, rng)
    folder = corpus._fresh_dir(HERE / NAME)
    tensorflowjs.converters.save_keras_model(model, str(folder))
    x = rng.uniform(0.0, 1.0, (BATCH, *corpus.SMALL)).astype(np.float32)
    corpus._write_expected(folder, model, x[:corpus.INPUTS_PER_MODEL],
                           {"source": "random weights; step.npz: one Keras training step"})
    labels = rng.integers(0, 10, BATCH).astype(np.int32)
    arrays = {"x": x, "labels": labels}
    for optimizer in STEPS:
        arrays.update(_step(model, optimizer, x, labels))
    np.savez_compressed(folder / "step.npz", **arrays)
    print(f"{NAME}: {model.count_params()} parameters, losses "
          f"{[float(arrays[f'{o}/loss']) for o in STEPS]}")


if __name__ == "__main__":
    main()
