"""The reader on real files: the official converter's (tf-keras 2.21 -> tensorflowjs 4.22)
and TF.js 4.22 `model.save()`'s, from tests/keras_corpus/."""

from __future__ import annotations

import json

import pytest

from tests.export.keras_corpus import corpus_models, refusal_cases
from webgl_backend.errors import ModelFormatError
from webgl_backend.model_format import read_model_dir

MODELS = corpus_models()
REFUSALS = refusal_cases()


def test_the_corpus_holds_every_shape_the_issue_names():
    names = {m.name for m in MODELS}
    assert {"sequential_input_layer", "sequential_first_layer_shape", "functional_chain",
            "conv_batchnorm", "dense_batchnorm", "global_max_pooling", "relu_variants",
            "elu_softmax", "zero_padding", "reshape", "keras_io_mnist", "mnist_batchnorm",
            "tfjs_saved/sequential", "tfjs_saved/functional"} <= names
    assert {name for name, _, _ in REFUSALS} == {
        "branchy_functional", "dilation_rate_2", "groups_2", "channels_first",
        "unknown_layer_class"}


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_reads_every_corpus_model(model):
    artifacts = read_model_dir(model.folder)
    assert artifacts.input_shape == model.inputs.shape[1:]
    assert artifacts.layers[-1].output_shape == (10,)
    listed = {w["name"] for group in json.loads((model.folder / "model.json").read_text())
              ["weightsManifest"] for w in group["weights"]}
    assert {name for spec in artifacts.layers for name, _, _ in spec.weights} == listed


def test_converter_files_keep_their_model_name_and_training_free_configs():
    artifacts = read_model_dir(next(m for m in MODELS if m.name == "functional_chain").folder)
    assert artifacts.name == "functional_chain"
    assert [s.class_name for s in artifacts.layers] == [
        "InputLayer", "Conv2D", "Flatten", "Dense", "Dense"]
    bn = read_model_dir(next(m for m in MODELS if m.name == "conv_batchnorm").folder).layers[2]
    assert bn.config == {"name": "batch_normalization", "trainable": True, "axis": -1,
                         "momentum": 0.99, "epsilon": 0.001, "center": True, "scale": True}
    assert [name for name, _, _ in bn.weights] == [
        "batch_normalization/gamma", "batch_normalization/beta",
        "batch_normalization/moving_mean", "batch_normalization/moving_variance"]


@pytest.mark.parametrize("name, folder, reason", REFUSALS, ids=lambda v: v if isinstance(v, str)
                         else "")
def test_refuses_naming_layer_key_and_value(name, folder, reason):
    with pytest.raises(ModelFormatError) as refused:
        read_model_dir(folder)
    message = str(refused.value)
    assert f"'{reason['layer']}'" in message, message
    assert reason["key"].replace("class_name", "layer class") in message, message
    assert reason.get("value", "") in message, message
