"""The stdlib reader: what it accepts, what it decodes, and every refusal with its message."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from tests.export.tfjs_files import TINY_WEIGHTS, tiny_cnn
from webgl_backend import model_format
from webgl_backend.errors import ModelFormatError
from webgl_backend.model_format import (
    MAX_WEIGHT_FLOATS, ModelArtifacts, parse_model_json, read_model, read_model_dir, shard_paths,
)


def as_arrays(artifacts: ModelArtifacts) -> dict[str, np.ndarray]:
    return {name: np.frombuffer(values, dtype=np.float32).reshape(shape)
            for layer in artifacts.layers for name, shape, values in layer.weights}


def layer_config(model_json: dict, index: int) -> dict:
    return model_json["modelTopology"]["config"]["layers"][index]["config"]


def manifest_entries(model_json: dict) -> list[dict]:
    return model_json["weightsManifest"][0]["weights"]


def refuses(model_json, shards, message: str) -> None:
    with pytest.raises(ModelFormatError, match=message):
        read_model(model_json, shards)


# ----------------------------------------------------------------------------- accepted

def test_reads_float32_weights_bit_for_bit_with_shapes_and_chained_output_shapes():
    model_json, shards, weights = tiny_cnn()
    artifacts = read_model(json.dumps(model_json).encode(), shards)
    assert artifacts.input_shape == (8, 8, 1)
    assert [layer.class_name for layer in artifacts.layers] == [
        "Conv2D", "MaxPooling2D", "Conv2D", "LeakyReLU", "Flatten", "Dropout", "Dense",
        "Activation"]
    assert [layer.output_shape for layer in artifacts.layers] == [
        (8, 8, 4), (4, 4, 4), (2, 2, 6), (2, 2, 6), (24,), (24,), (5,), (5,)]
    got = as_arrays(artifacts)
    assert list(got) == [name for name, _ in TINY_WEIGHTS]
    for name, value in weights.items():
        assert got[name].tobytes() == value.tobytes(), name
    assert [e.name for e in artifacts.weight_entries] == [name for name, _ in TINY_WEIGHTS]


def test_layer_configs_come_back_with_defaults_filled_in():
    model_json, shards, _ = tiny_cnn()
    del layer_config(model_json, 2)["strides"]
    del layer_config(model_json, 2)["padding"]
    del layer_config(model_json, 1)["strides"]
    layer_config(model_json, 0)["kernel_size"] = 3
    layers = read_model(model_json, shards).layers
    assert layers[0].config["kernel_size"] == [3, 3]
    assert layers[1].config["strides"] == [2, 2]  # pool strides default to pool_size
    assert layers[2].config["strides"] == [1, 1]
    assert layers[2].config["padding"] == "valid"
    assert layers[3].config["alpha"] == 0.2
    assert layers[0].config["batch_input_shape"] == [None, 8, 8, 1]


@pytest.mark.parametrize("shard_size", [4, 100, 1000], ids=lambda s: f"shard={s}B")
def test_reads_weights_split_across_several_shards(shard_size):
    model_json, shards, weights = tiny_cnn(shard_size=shard_size)
    assert len(shards) == -(-1548 // shard_size)
    assert shard_paths(model_json) == list(shards)
    got = as_arrays(read_model(model_json, shards))
    assert all(got[name].tobytes() == value.tobytes() for name, value in weights.items())


def test_accepts_memoryview_shards():
    model_json, shards, weights = tiny_cnn(shard_size=100)
    views = {name: memoryview(bytearray(data)) for name, data in shards.items()}
    got = as_arrays(read_model(model_json, views))
    assert got["dense/kernel"].tobytes() == weights["dense/kernel"].tobytes()


def test_float16_weights_decode_exactly_as_numpy_does():
    model_json, shards, weights = tiny_cnn(quantize="float16")
    got = as_arrays(read_model(model_json, shards))
    for name, value in weights.items():
        np.testing.assert_array_equal(got[name], value.astype(np.float16).astype(np.float32))


def test_uint8_weights_decode_as_q_times_scale_plus_min_in_float32():
    model_json, shards, weights = tiny_cnn(quantize="uint8")
    got = as_arrays(read_model(model_json, shards))
    offset, data = 0, shards["group1-shard1of1.bin"]
    for entry in manifest_entries(model_json):
        count = int(np.prod(entry["shape"]))
        q = np.frombuffer(data, np.uint8, count, offset).astype(np.float64)
        offset += count
        expected = (q * entry["quantization"]["scale"] + entry["quantization"]["min"])
        np.testing.assert_array_equal(got[entry["name"]].ravel(), expected.astype(np.float32))


def test_accepts_a_leading_tfjs_style_input_layer():
    model_json, shards, weights = tiny_cnn()
    layers = model_json["modelTopology"]["config"]["layers"]
    layers.insert(0, {"class_name": "InputLayer", "config": {
        "batch_input_shape": [None, 8, 8, 1], "dtype": "float32", "sparse": False,
        "name": "input_1"}})
    artifacts = read_model(model_json, shards)
    assert artifacts.layers[0].class_name == "InputLayer"
    assert artifacts.layers[0].output_shape == (8, 8, 1)
    assert as_arrays(artifacts)["conv2d/kernel"].tobytes() == weights["conv2d/kernel"].tobytes()


def test_accepts_several_manifest_groups():
    model_json, shards, weights = tiny_cnn()
    entries = manifest_entries(model_json)
    data = shards["group1-shard1of1.bin"]
    split = 4 * (36 + 4)
    model_json["weightsManifest"] = [
        {"paths": ["group1-shard1of1.bin"], "weights": entries[:2]},
        {"paths": ["group2-shard1of1.bin"], "weights": entries[2:]}]
    shards = {"group1-shard1of1.bin": data[:split], "group2-shard1of1.bin": data[split:]}
    assert shard_paths(model_json) == ["group1-shard1of1.bin", "group2-shard1of1.bin"]
    got = as_arrays(read_model(model_json, shards))
    assert got["dense/bias"].tobytes() == weights["dense/bias"].tobytes()


def test_parse_model_json_validates_without_shards_and_returns_the_dict():
    model_json, _, _ = tiny_cnn()
    assert parse_model_json(json.dumps(model_json)) == model_json


def test_read_model_dir_reads_the_files(tmp_path):
    model_json, shards, weights = tiny_cnn(shard_size=500)
    (tmp_path / "model.json").write_text(json.dumps(model_json))
    for name, data in shards.items():
        (tmp_path / name).write_bytes(data)
    got = as_arrays(read_model_dir(tmp_path))
    assert got["conv2d_1/kernel"].tobytes() == weights["conv2d_1/kernel"].tobytes()


def test_package_imports_only_the_standard_library():
    imported = set()
    for path in Path(model_format.__file__).parent.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        imported |= set(re.findall(r"^(?:from|import) ([\w.]+)", source, flags=re.M))
    ours = {name for name in imported if name.startswith("webgl_backend.")}
    assert imported - ours <= {"__future__", "array", "json", "math", "os", "re", "struct",
                               "sys", "dataclasses"}, imported


# ----------------------------------------------------------------------------- refusals: JSON

def test_refuses_text_that_is_not_json():
    _, shards, _ = tiny_cnn()
    refuses(b"{\"format\": \"layers-model\",", shards, r"^model\.json: not JSON \(")


def test_refuses_json_that_is_not_an_object():
    refuses("[1, 2]", {}, r"^model\.json: the top level must be an object, got list")


def test_refuses_nan_literals_in_json():
    model_json, shards, _ = tiny_cnn()
    text = json.dumps(model_json).replace('"rate": 0.25', '"rate": NaN')
    refuses(text, shards, r"model\.json: NaN is not valid JSON")


def test_refuses_duplicate_keys():
    model_json, shards, _ = tiny_cnn()
    text = json.dumps(model_json).replace('"units": 5', '"units": 5, "units": 6')
    refuses(text, shards, r"model\.json: duplicate key 'units'")


@pytest.mark.parametrize("missing", ["format", "generatedBy", "convertedBy", "modelTopology",
                                     "weightsManifest"])
def test_refuses_missing_top_level_field(missing):
    model_json, shards, _ = tiny_cnn()
    del model_json[missing]
    refuses(model_json, shards, rf"^model\.json: the top level is missing field '{missing}'")


def test_refuses_extra_top_level_field():
    model_json, shards, _ = tiny_cnn()
    model_json["weightsManifestV2"] = []
    refuses(model_json, shards,
            r"^model\.json: the top level has unexpected field 'weightsManifestV2' "
            r"\(allowed: format")


def test_refuses_other_formats():
    model_json, shards, _ = tiny_cnn()
    model_json["format"] = "graph-model"
    refuses(model_json, shards, r"model\.json: format is 'graph-model', expected 'layers-model'")


def test_refuses_model_classes_other_than_a_chain():
    model_json, shards, _ = tiny_cnn()
    model_json["modelTopology"]["class_name"] = "Bidirectional"
    refuses(model_json, shards, r"modelTopology\.class_name is 'Bidirectional', expected one of "
                                r"Sequential, Functional, Model")


def test_refuses_extra_topology_field():
    model_json, shards, _ = tiny_cnn()
    model_json["modelTopology"]["training_config"] = {}
    refuses(model_json, shards, r"modelTopology has unexpected field 'training_config'")


# ----------------------------------------------------------------------------- refusals: layers

def test_refuses_unknown_layer_class():
    model_json, shards, _ = tiny_cnn()
    model_json["modelTopology"]["config"]["layers"][4]["class_name"] = "LayerNormalization"
    refuses(model_json, shards, r"model\.json: layers\[4\] 'flatten': unknown layer class "
                                r"'LayerNormalization' \(supported: ")


@pytest.mark.parametrize("index,activation", [(0, "gelu"), (6, "swish"), (7, "leaky_relu")],
                         ids=["conv2d-gelu", "dense-swish", "activation-leaky_relu"])
def test_refuses_unknown_activation(index, activation):
    model_json, shards, _ = tiny_cnn()
    layer_config(model_json, index)["activation"] = activation
    refuses(model_json, shards, rf"layers\[{index}\] '\w+': unknown activation '{activation}' "
            r"\(supported: linear, relu, elu, sigmoid, tanh, softmax\)")


def test_refuses_unexpected_layer_config_key():
    model_json, shards, _ = tiny_cnn()
    layer_config(model_json, 3)["negative_slope"] = 0.1  # Keras 3 name; TF.js reads 'alpha'
    refuses(model_json, shards, r"layers\[3\] 'leaky_re_lu': unknown config key "
                                r"'negative_slope' = 0.1 for LeakyReLU; it may change what the "
                                r"layer computes \(keys read: alpha, ")


@pytest.mark.parametrize("value", [None, False, {}, []], ids=str)
def test_ignores_unknown_config_keys_that_are_off(value):
    model_json, shards, weights = tiny_cnn()
    layer_config(model_json, 6)["lora_rank"] = value  # a Keras 3 feature, off
    layer_config(model_json, 0)["module"] = "keras.layers"
    read_model(model_json, shards)


def test_refuses_channels_first():
    model_json, shards, _ = tiny_cnn()
    layer_config(model_json, 0)["data_format"] = "channels_first"
    refuses(model_json, shards, r"layers\[0\] 'conv2d': data_format 'channels_first' is not "
            r"supported \(expected 'channels_last', NHWC\)")


def test_refuses_duplicate_layer_names():
    model_json, shards, _ = tiny_cnn()
    layer_config(model_json, 5)["name"] = "flatten"
    refuses(model_json, shards, r"layers\[5\]: layer name 'flatten' is used twice")


def test_refuses_first_layer_without_batch_input_shape():
    model_json, shards, _ = tiny_cnn()
    del layer_config(model_json, 0)["batch_input_shape"]
    refuses(model_json, shards, r"layers\[0\]: config has no 'batch_input_shape'")


@pytest.mark.parametrize("shape,message", [
    ([None, 8, -8, 1], r"\[null, 8, -8, 1\] has dimension -8; expected positive integers"),
    ([None, 8, 8.0, 1], r"\[null, 8, 8\.0, 1\] has dimension 8\.0; expected positive integers"),
    ([8, 8, 1], r"must be \[null, d1, \.\.\.\], got \[8, 8, 1\]"),
    ([None, 100000, 100000, 3],
     r"\[null, 100000, 100000, 3\] holds 30000000000 values per sample, over the limit"),
], ids=["negative", "float", "no-batch-axis", "absurd"])
def test_refuses_bad_input_shape(shape, message):
    model_json, shards, _ = tiny_cnn()
    layer_config(model_json, 0)["batch_input_shape"] = shape
    refuses(model_json, shards, r"^model\.json: layers\[0\]: batch_input_shape " + message)


def test_refuses_batch_input_shape_on_a_later_layer():
    model_json, shards, _ = tiny_cnn()
    layer_config(model_json, 4)["batch_input_shape"] = [None, 24]
    refuses(model_json, shards, re.escape(
        "model.json: layers[4] 'flatten': batch_input_shape [null, 24] on a layer that is not "
        "the first (its input is (2, 2, 6))"))


def test_refuses_non_integer_units():
    model_json, shards, _ = tiny_cnn()
    layer_config(model_json, 6)["units"] = 5.0
    refuses(model_json, shards, r"layers\[6\] 'dense': units must be a positive integer, got 5\.0")


def test_refuses_a_kernel_that_does_not_fit_its_input():
    model_json, shards, _ = tiny_cnn()
    layer_config(model_json, 2)["kernel_size"] = [5, 5]  # input is 4x4 after pooling
    refuses(model_json, shards, r"layers\[2\] 'conv2d_1': kernel height 5 does not fit the "
            r"input size 4 with padding 'valid'")


# ----------------------------------------------------------------------------- refusals: manifest

def test_refuses_dense_kernel_that_disagrees_with_units():
    model_json, shards, _ = tiny_cnn()
    layer_config(model_json, 6)["units"] = 7
    refuses(model_json, shards, re.escape(
        "model.json: layers[6] 'dense': weight 'dense/kernel' has shape [24, 5] in "
        "weightsManifest[0].weights[4], expected [24, 7] (input features 24 from input (24,), "
        "units 7)"))


def test_refuses_conv_kernel_that_disagrees_with_the_previous_layers_channels():
    model_json, shards, _ = tiny_cnn()
    layer_config(model_json, 0)["filters"] = 3
    manifest_entries(model_json)[0]["shape"] = [3, 3, 1, 3]
    manifest_entries(model_json)[1]["shape"] = [3]
    refuses(model_json, shards, re.escape(
        "model.json: layers[2] 'conv2d_1': weight 'conv2d_1/kernel' has shape [3, 3, 4, 6] in "
        "weightsManifest[0].weights[2], expected [3, 3, 3, 6] (kernel_size [3, 3], input "
        "channels 3 from input (4, 4, 3), filters 6)"))


def test_refuses_dense_input_features_that_disagree_with_the_chained_shape():
    model_json, shards, _ = tiny_cnn()
    layer_config(model_json, 2)["padding"] = "same"  # conv2d_1 now gives 4x4x6 -> 96 features
    refuses(model_json, shards, re.escape(
        "layers[6] 'dense': weight 'dense/kernel' has shape [24, 5] in "
        "weightsManifest[0].weights[4], expected [96, 5] (input features 96 from input (96,)"))


def test_refuses_manifest_weight_name_that_belongs_to_no_layer():
    model_json, shards, _ = tiny_cnn()
    manifest_entries(model_json)[4]["name"] = "dense_7/kernel"
    refuses(model_json, shards, r"model\.json: weightsManifest\[0\]\.weights\[4\]: weight "
            r"'dense_7/kernel' belongs to no layer")


def test_refuses_manifest_missing_a_weight():
    model_json, shards, _ = tiny_cnn()
    del manifest_entries(model_json)[5]
    refuses(model_json, shards, re.escape(
        "model.json: layers[6] 'dense': weight 'dense/bias' is missing from weightsManifest "
        "(5 weights listed, the topology needs 6)"))


def test_refuses_manifest_with_a_weight_listed_twice():
    model_json, shards, _ = tiny_cnn()
    manifest_entries(model_json).append(dict(manifest_entries(model_json)[5]))
    refuses(model_json, shards, r"weightsManifest\[0\]\.weights\[6\]: weight 'dense/bias' is "
            r"listed twice")


def test_reads_weights_in_manifest_order_matched_by_name():
    """The converter sorts the manifest by name; TF.js lists moving statistics last."""
    model_json, _, weights = tiny_cnn()
    entries = manifest_entries(model_json)
    entries.reverse()
    data = b"".join(weights[e["name"]].astype("<f4").tobytes() for e in entries)
    artifacts = read_model(model_json, {"group1-shard1of1.bin": data})
    for spec in artifacts.layers:
        for name, shape, values in spec.weights:
            np.testing.assert_array_equal(np.frombuffer(values, np.float32).reshape(shape),
                                          weights[name])


def test_refuses_bias_when_use_bias_is_false():
    model_json, shards, _ = tiny_cnn()
    layer_config(model_json, 6)["use_bias"] = False
    refuses(model_json, shards, r"weights\[5\]: weight 'dense/bias' belongs to no layer")


@pytest.mark.parametrize("shape,message", [
    ([24, -5], r"shape \[24, -5\] has negative dimension -5"),
    ([24, 5.5], r"shape \[24, 5\.5\] has non-integer dimension 5\.5"),
    ([24, "5"], r"shape \[24, '5'\] has non-integer dimension '5'"),
    ([100000, 100000], rf"shape \[100000, 100000\] declares 10000000000 values, over the limit "
                       rf"of {MAX_WEIGHT_FLOATS} \(MAX_WEIGHT_FLOATS\)"),
], ids=["negative", "fraction", "string", "absurd"])
def test_refuses_bad_manifest_shape(shape, message):
    model_json, shards, _ = tiny_cnn()
    manifest_entries(model_json)[4]["shape"] = shape
    refuses(model_json, shards, r"weightsManifest\[0\]\.weights\[4\] 'dense/kernel': " + message)


def test_refuses_absurd_total_size_before_reading_any_shard():
    model_json, _, _ = tiny_cnn()
    for entry in manifest_entries(model_json):
        entry["shape"] = [MAX_WEIGHT_FLOATS // 2 + 1]
    refuses(model_json, {}, r"weightsManifest declares over \d+ weight values, over the limit")


def test_refuses_unsupported_weight_dtype():
    model_json, shards, _ = tiny_cnn()
    manifest_entries(model_json)[1]["dtype"] = "int32"
    refuses(model_json, shards, r"'conv2d/bias': dtype 'int32' is not supported")


@pytest.mark.parametrize("quantization,message", [
    ({"dtype": "uint16", "min": 0.0, "scale": 1.0},
     r"quantization dtype 'uint16' is not supported"),
    ({"dtype": "uint8", "min": 0.0}, r"quantization is missing field 'scale'"),
    ({"dtype": "uint8", "min": 0.0, "scale": -1.0}, r"scale must be a positive finite number"),
    ({"dtype": "float16", "min": 0.0}, r"quantization has unexpected field 'min'"),
], ids=["uint16", "uint8-no-scale", "uint8-negative-scale", "float16-extra-field"])
def test_refuses_bad_quantization(quantization, message):
    model_json, shards, _ = tiny_cnn()
    manifest_entries(model_json)[1]["quantization"] = quantization
    refuses(model_json, shards, r"weightsManifest\[0\]\.weights\[1\] 'conv2d/bias'.*" + message)


@pytest.mark.parametrize("path", ["../secret.bin", "sub/group1-shard1of1.bin", ".hidden", ""],
                         ids=["parent", "folder", "hidden", "empty"])
def test_refuses_shard_paths_that_are_not_plain_file_names(path):
    model_json, shards, _ = tiny_cnn()
    model_json["weightsManifest"][0]["paths"] = [path]
    refuses(model_json, shards, r"weightsManifest\[0\]\.paths\[0\]: .* is not a plain file name")


# ----------------------------------------------------------------------------- refusals: shards

def test_refuses_a_missing_shard():
    model_json, shards, _ = tiny_cnn(shard_size=1000)
    del shards["group1-shard2of2.bin"]
    refuses(model_json, shards, re.escape(
        "group1-shard2of2.bin: shard missing (model.json lists it as weightsManifest[0].paths[1])"))


def test_refuses_a_short_single_shard_and_names_the_first_weight_cut_off():
    model_json, shards, _ = tiny_cnn()
    shards["group1-shard1of1.bin"] = shards["group1-shard1of1.bin"][:1500]
    refuses(model_json, shards, re.escape(
        "group1-shard1of1.bin: 1500 bytes, manifest needs 1548; model.json: layers[6] 'dense': "
        "weight 'dense/kernel' needs 120 floats, shards hold 113"))


def test_refuses_a_long_single_shard():
    model_json, shards, _ = tiny_cnn()
    shards["group1-shard1of1.bin"] += b"\0" * 4
    refuses(model_json, shards, r"^group1-shard1of1\.bin: 1552 bytes, manifest needs 1548$")


def test_refuses_a_short_middle_shard():
    model_json, shards, _ = tiny_cnn(shard_size=512)
    shards["group1-shard2of4.bin"] = shards["group1-shard2of4.bin"][:500]
    refuses(model_json, shards, re.escape(
        "group1-shard2of4.bin: 500 bytes, manifest needs 512 (weightsManifest[0]: 4 shards of "
        "512 bytes but the last)"))


def test_refuses_byte_counts_that_do_not_add_up():
    model_json, shards, _ = tiny_cnn(shard_size=512)
    shards["group1-shard1of4.bin"] += b"\0" * 600  # the first shard now says shards are 1112
    refuses(model_json, shards, re.escape(
        "weightsManifest[0]: byte counts do not add up: shards group1-shard1of4.bin 1112, "
        "group1-shard2of4.bin 512, group1-shard3of4.bin 512, group1-shard4of4.bin 12 hold 2148 "
        "bytes in all, the weights listed need 1548"))


def test_refuses_uint8_shard_of_wrong_length_counting_quantized_bytes():
    model_json, shards, _ = tiny_cnn(quantize="uint8")
    shards["group1-shard1of1.bin"] = shards["group1-shard1of1.bin"][:380]
    refuses(model_json, shards, re.escape(
        "group1-shard1of1.bin: 380 bytes, manifest needs 387; model.json: layers[6] 'dense': "
        "weight 'dense/kernel' needs 120 uint8 values, shards hold 118"))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
def test_refuses_non_finite_weights_naming_weight_and_first_index(bad):
    model_json, shards, weights = tiny_cnn()
    kernel = weights["conv2d_1/kernel"].copy()
    kernel[1, 2, 3, 4] = bad
    kernel[2, 2, 2, 2] = np.nan
    data = bytearray(shards["group1-shard1of1.bin"])
    data[4 * 40: 4 * (40 + 216)] = kernel.tobytes()
    refuses(model_json, {"group1-shard1of1.bin": bytes(data)}, re.escape(
        f"model.json: layers[2] 'conv2d_1': weight 'conv2d_1/kernel' holds {float(bad)} at flat "
        "index 142 (index (1, 2, 3, 4) of shape [3, 3, 4, 6])"))


def test_refuses_float16_infinity():
    model_json, shards, _ = tiny_cnn(quantize="float16")
    data = bytearray(shards["group1-shard1of1.bin"])
    data[2 * 36: 2 * 37] = np.array([np.inf], "<f2").tobytes()  # conv2d/bias[0]
    refuses(model_json, {"group1-shard1of1.bin": bytes(data)},
            r"layers\[0\] 'conv2d': weight 'conv2d/bias' holds inf at flat index 0")


def test_read_model_dir_refuses_a_folder_without_model_json(tmp_path):
    with pytest.raises(ModelFormatError, match=r"model\.json: missing \(an exported model folder"):
        read_model_dir(tmp_path)


def test_read_model_dir_refuses_a_missing_shard_file(tmp_path):
    model_json, shards, _ = tiny_cnn(shard_size=1000)
    (tmp_path / "model.json").write_text(json.dumps(model_json))
    (tmp_path / "group1-shard1of2.bin").write_bytes(shards["group1-shard1of2.bin"])
    with pytest.raises(ModelFormatError, match=r"^group1-shard2of2\.bin: shard missing"):
        read_model_dir(tmp_path)
