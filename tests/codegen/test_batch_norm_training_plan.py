"""Fine-tuning plans of models with BatchNormalization, over FakeGL: the step draws every
BatchNormalization unfolded (gamma and beta trained, the moving statistics frozen), then
refolds what the predictions draw; an untrained export gives back the file's weights."""

from __future__ import annotations

import json
from array import array

import pytest

from tests.export.keras_corpus import CORPUS
from webgl_backend.fake_gl import FakeGL
from webgl_backend.model_format import read_model, read_model_dir
from webgl_backend.runtime import Runtime
from webgl_backend.training import FineTuner

BATCH_NORM_MODELS = ("batchnorm_step", "conv_batchnorm", "dense_batchnorm", "mnist_batchnorm")


def _tuner(name: str, trainable="all") -> FineTuner:
    artifacts = read_model_dir(CORPUS / name)
    model = Runtime(FakeGL()).load_model(artifacts, {}, warm_up=False)
    tuner = FineTuner(model)
    tuner.configure_training(optimizer="sgd", learning_rate=0.1, trainable=trainable)
    return tuner


def _labels(tuner: FineTuner, n: int = 4) -> list[str]:
    return [getattr(draw, "label", None) or draw.layer_name for draw in tuner._plan(n).draws]


def test_predictions_draw_folded_and_the_step_draws_every_batch_norm_unfolded():
    tuner = _tuner("batchnorm_step")
    assert [(op.layer_name, op.kind) for op in tuner.model.ops] == [
        ("batch_normalization", "channel_affine"),  # first: nothing to fold it into
        ("conv2d+batch_normalization_1+re_lu", "conv2d"),
        ("max_pooling2d", "max_pool2d"),
        ("batch_normalization_2", "channel_affine"),  # after pooling
        ("flatten", "view"),
        ("dense+batch_normalization_3+activation", "dense"),
        ("batch_normalization_4+dense_1", "dense")]
    assert [(op.layer_name, op.kind) for op in tuner._unfolded_layers().ops] == [
        ("batch_normalization", "channel_affine"),
        ("conv2d", "conv2d"), ("batch_normalization_1", "channel_affine"),
        ("re_lu", "activation"),
        ("max_pooling2d", "max_pool2d"),
        ("batch_normalization_2", "channel_affine"),
        ("flatten", "view"),
        ("dense", "dense"), ("batch_normalization_3", "channel_affine"),
        ("activation", "activation"),
        ("batch_normalization_4", "channel_affine"), ("dense_1", "dense")]


def test_the_step_trains_gamma_beta_kernels_and_biases_and_then_refolds():
    tuner = _tuner("batchnorm_step")
    trained = sorted(p.name for p in tuner._parameters)
    assert trained == sorted(
        [f"batch_normalization{s}/{w}" for s in ("", "_1", "_2", "_3") for w in ("gamma", "beta")]
        + ["batch_normalization_4/beta", "conv2d/kernel", "dense/kernel", "dense/bias",
           "dense_1/kernel", "dense_1/bias"])
    labels = _labels(tuner)
    for layer in ("batch_normalization", "batch_normalization_2", "batch_normalization_3"):
        assert {f"{layer} dgamma", f"{layer} dbeta"} <= set(labels), layer
    assert "batch_normalization_4 dbeta" in labels and "batch_normalization_4 dgamma" not in labels
    assert "batch_normalization dx" not in labels  # the first op: no dx
    updates = max(i for i, label in enumerate(labels) if " sgd " in label)
    refolds = [label for label in labels[updates + 1:]]
    assert refolds == [f"{layer} refold {what}" for layer, whats in (
        ("batch_normalization", "ab"), ("batch_normalization_1", ["a", "b", "kernel", "bias"]),
        ("batch_normalization_2", "ab"), ("batch_normalization_3", ["a", "b", "kernel", "bias"]),
        ("batch_normalization_4", ["a", "b", "kernel", "bias"])) for what in whats]


def test_only_the_last_layer_trained_refolds_only_its_batch_norm():
    tuner = _tuner("dense_batchnorm", trainable=1)
    assert sorted(p.name for p in tuner._parameters) == [
        "batch_normalization_2/gamma", "dense_2/bias", "dense_2/kernel"]
    labels = _labels(tuner)
    assert [label for label in labels if "refold" in label] == [
        f"batch_normalization_2 refold {what}" for what in ("a", "b", "kernel", "bias")]
    assert labels.count("batch_normalization_2 dx") == 0


@pytest.mark.parametrize("name", BATCH_NORM_MODELS)
def test_an_untrained_export_gives_back_the_files_weights_bit_for_bit(name):
    artifacts = read_model_dir(CORPUS / name)
    model = Runtime(FakeGL()).load_model(artifacts, {}, warm_up=False)
    text, shards = FineTuner(model).export()
    loaded = {n: array("f", v) for spec in artifacts.layers for n, _, v in spec.weights}
    again = read_model(text, shards)
    assert {n: array("f", v) for spec in again.layers for n, _, v in spec.weights} == loaded
    # Layer order, kernel before bias: the order the server's upload check compares.
    in_layer_order = [n for spec in artifacts.layers for n, _, _ in spec.weights]
    assert [w["name"] for group in json.loads(text)["weightsManifest"]
            for w in group["weights"]] == in_layer_order
