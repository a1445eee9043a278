"""The writer: round trips through our reader, quantization bounds, sharding, atomic writes,
refusals, and the `shadernet export` command."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from model_export import atomic_folder
from model_export.architectures import ARCHITECTURES, MNIST_INPUT_SHAPE
from model_export.export import (
    ExportError, build_files, dequantize_uint8, export_model, quantize_uint8,
)
from model_export.exported import load_exported
from model_export.layers import (
    Activation, AveragePooling2D, Conv2D, Dense, Dropout, Flatten, LeakyReLU, MaxPooling2D,
)
from model_export.model import Sequential
from webgl_backend.model_format import read_model_dir


def every_kind_cnn(seed: int = 0) -> Sequential:
    """One of every layer class, odd sizes, both paddings, a stride that does not divide."""
    return Sequential([
        Conv2D(5, 3, padding="same", activation="relu"),
        MaxPooling2D(2),
        Conv2D(7, (2, 3), strides=(2, 1), padding="valid", activation="elu"),
        LeakyReLU(alpha=0.1),
        AveragePooling2D(pool_size=(2, 2), strides=(1, 2), padding="same"),
        Flatten(),
        Dense(16, activation="tanh"),
        Dropout(0.3),
        Dense(12, activation="sigmoid", use_bias=False),
        Dense(10),
        Activation("softmax"),
    ], input_shape=(11, 13, 1), seed=seed)


def build(kind: str, seed: int = 0) -> Sequential:
    if kind == "every-kind":
        return every_kind_cnn(seed)
    return Sequential(ARCHITECTURES[kind].build_layers(), MNIST_INPUT_SHAPE, seed=seed)


def with_random_biases(model: Sequential, seed: int = 1) -> Sequential:
    """Initial biases are zeros; give them values so the round trip checks real bytes."""
    rng = np.random.default_rng(seed)
    model.set_weights([value if not name.endswith("/bias")
                       else rng.standard_normal(value.shape).astype(np.float32)
                       for name, value in model.get_weights()])
    return model


def inputs(model: Sequential, n: int = 6, seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).random((n, *model.input_shape), dtype=np.float32)


def stored_weights(folder: Path) -> dict[str, np.ndarray]:
    return {name: np.frombuffer(values, np.float32).reshape(shape)
            for layer in read_model_dir(folder).layers for name, shape, values in layer.weights}


# ----------------------------------------------------------------------------- round trips

@pytest.mark.parametrize("kind", ["every-kind", "cnn", "mlp"])
def test_round_trip_is_bit_for_bit_and_predicts_the_same(kind, tmp_path):
    model = with_random_biases(build(kind))
    folder = export_model(model, tmp_path / kind)
    stored = stored_weights(folder)
    assert list(stored) == [name for name, _ in model.get_weights()]
    for name, value in model.get_weights():
        assert stored[name].tobytes() == value.tobytes(), name
    loaded = load_exported(folder, seed=99)  # a different init seed: weights must come from disk
    assert [type(a).__name__ for a in loaded.layers] == [type(a).__name__ for a in model.layers]
    assert loaded.output_shapes == model.output_shapes
    x = inputs(model)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_reader_chains_the_same_output_shapes_as_the_numpy_model(tmp_path):
    model = every_kind_cnn()
    artifacts = read_model_dir(export_model(model, tmp_path / "m"))
    assert [spec.output_shape for spec in artifacts.layers] == model.output_shapes
    assert artifacts.input_shape == (11, 13, 1)


def test_model_json_is_the_tfjs_layers_format_with_a_plain_config_dump(tmp_path):
    model = every_kind_cnn()
    folder = export_model(model, tmp_path / "m")
    model_json = json.loads((folder / "model.json").read_text())
    assert list(model_json) == ["format", "generatedBy", "convertedBy", "modelTopology",
                                "weightsManifest"]
    assert model_json["format"] == "layers-model"
    assert model_json["generatedBy"] == "shadernet 0.1.0"
    assert model_json["convertedBy"] == "shadernet export"
    topology = model_json["modelTopology"]
    assert topology["class_name"] == "Sequential"
    assert topology["keras_version"] == "tfjs-layers 4.22.0"
    assert topology["backend"] == "tensor_flow.js"
    assert topology["config"] == json.loads(json.dumps(model.get_config()))
    assert topology["config"]["layers"][0]["config"]["batch_input_shape"] == [None, 11, 13, 1]
    manifest = model_json["weightsManifest"]
    assert manifest[0]["paths"] == ["group1-shard1of1.bin"]
    assert manifest[0]["weights"] == [{"name": name, "shape": list(value.shape), "dtype": "float32"}
                                      for name, value in model.get_weights()]


def test_shard_bytes_are_little_endian_float32_in_manifest_order(tmp_path):
    model = with_random_biases(every_kind_cnn())
    folder = export_model(model, tmp_path / "m")
    expected = b"".join(value.astype("<f4").tobytes() for _, value in model.get_weights())
    assert (folder / "group1-shard1of1.bin").read_bytes() == expected


# 30 bytes: floats straddle shard boundaries.
@pytest.mark.parametrize("shard_size", [30, 1000, 4096], ids=lambda s: f"shard={s}B")
def test_small_shard_size_splits_into_several_full_shards_and_round_trips(shard_size, tmp_path):
    model = with_random_biases(every_kind_cnn())
    total = sum(value.nbytes for _, value in model.get_weights())
    folder = export_model(model, tmp_path / "m", shard_size_bytes=shard_size)
    count = -(-total // shard_size)
    names = [f"group1-shard{i}of{count}.bin" for i in range(1, count + 1)]
    assert sorted(p.name for p in folder.iterdir()) == sorted(names + ["model.json"])
    assert json.loads((folder / "model.json").read_text())["weightsManifest"][0]["paths"] == names
    sizes = [(folder / name).stat().st_size for name in names]
    assert sizes[:-1] == [shard_size] * (count - 1) and 0 < sizes[-1] <= shard_size
    stored = stored_weights(folder)
    for name, value in model.get_weights():
        assert stored[name].tobytes() == value.tobytes(), name


def test_cli_shard_size_makes_several_shards(tmp_path):
    from model_export.cli import main
    source = export_model(with_random_biases(build("mlp")), tmp_path / "source")
    assert main(["export", str(source), str(tmp_path / "out"), "--shard-size", "500000"]) == 0
    shards = sorted(p.name for p in (tmp_path / "out").glob("*.bin"))
    assert shards == [f"group1-shard{i}of4.bin" for i in range(1, 5)]  # 1,628,200 bytes


# ----------------------------------------------------------------------------- quantization

def test_float16_export_is_within_float16_rounding_and_loads(tmp_path):
    model = with_random_biases(every_kind_cnn())
    folder = export_model(model, tmp_path / "m", quantize="float16")
    manifest = json.loads((folder / "model.json").read_text())["weightsManifest"][0]["weights"]
    assert all(e["dtype"] == "float32" and e["quantization"] == {"dtype": "float16",
               "original_dtype": "float32"} for e in manifest)
    stored = stored_weights(folder)
    for name, value in model.get_weights():
        np.testing.assert_array_equal(stored[name], value.astype(np.float16).astype(np.float32))
        # Half precision: 11 significant bits, so relative error <= 2^-11 (normal range).
        bound = np.maximum(np.abs(value) * 2.0 ** -11, 2.0 ** -25)
        assert np.all(np.abs(stored[name] - value) <= bound), name
    assert sum(p.stat().st_size for p in folder.glob("*.bin")) == \
        sum(v.size * 2 for _, v in model.get_weights())
    x = inputs(model)
    np.testing.assert_allclose(load_exported(folder).predict(x), model.predict(x), atol=2e-3)


def test_uint8_export_is_within_half_a_step_and_loads(tmp_path):
    model = with_random_biases(every_kind_cnn())
    folder = export_model(model, tmp_path / "m", quantize="uint8")
    manifest = json.loads((folder / "model.json").read_text())["weightsManifest"][0]["weights"]
    stored = stored_weights(folder)
    for entry, (name, value) in zip(manifest, model.get_weights()):
        quantization = entry["quantization"]
        assert list(quantization) == ["dtype", "min", "scale", "original_dtype"]
        assert quantization["dtype"] == "uint8" and quantization["original_dtype"] == "float32"
        error = np.abs(stored[name].astype(np.float64) - value)
        slack = 2.0 ** -23 * np.abs(value).max()  # the float32 rounding of q * scale + min
        assert error.max() <= quantization["scale"] / 2 + slack, name
    assert sum(p.stat().st_size for p in folder.glob("*.bin")) == \
        sum(v.size for _, v in model.get_weights())
    x = inputs(model)
    np.testing.assert_allclose(load_exported(folder).predict(x), model.predict(x), atol=0.05)


def test_uint8_nudges_min_so_zero_is_exact():
    values = np.array([-0.3, -0.1, 0.0, 0.2, 0.71], np.float32)
    codes, minimum, scale = quantize_uint8(values)
    assert scale == pytest.approx((0.71 - (-0.3)) / 255, rel=1e-6)
    zero_code = codes[2]
    assert zero_code * scale + minimum == 0.0
    assert dequantize_uint8(codes, minimum, scale)[2] == 0.0
    assert codes.min() == 0 or codes.max() == 255


def test_uint8_all_positive_tensor_is_not_nudged():
    values = np.array([0.5, 0.75, 1.5], np.float32)
    codes, minimum, scale = quantize_uint8(values)
    assert minimum == 0.5 and scale == 1.0 / 255
    assert codes.tolist() == [0, 64, 255]


@pytest.mark.parametrize("constant", [0.0, -1.25], ids=["zeros", "negative-constant"])
def test_uint8_constant_tensor_comes_back_exactly(constant, tmp_path):
    values = np.full((4, 3), constant, np.float32)
    codes, minimum, scale = quantize_uint8(values)
    assert codes.tolist() == [[0] * 3] * 4 and minimum == constant and scale == 1.0
    model = build("mlp")  # biases start as zeros: a constant tensor in a real export
    folder = export_model(model, tmp_path / "m", quantize="uint8")
    assert np.all(stored_weights(folder)["dense/bias"] == 0.0)


def test_uint8_decoding_matches_the_converters_formula(tmp_path):
    model = with_random_biases(every_kind_cnn())
    model_json, shards = build_files(model, quantize="uint8")
    stored = stored_weights(export_model(model, tmp_path / "m", quantize="uint8"))
    data, offset = shards["group1-shard1of1.bin"], 0
    for entry in model_json["weightsManifest"][0]["weights"]:
        count = int(np.prod(entry["shape"]))
        codes = np.frombuffer(data, np.uint8, count, offset)
        offset += count
        q = entry["quantization"]
        expected = dequantize_uint8(codes, q["min"], q["scale"]).reshape(entry["shape"])
        assert stored[entry["name"]].tobytes() == expected.tobytes(), entry["name"]


# ----------------------------------------------------------------------------- refusals

def test_refuses_nan_weights_before_writing(tmp_path):
    model = every_kind_cnn()
    model.layers[6].weights["kernel"][3, 4] = np.nan
    with pytest.raises(ExportError, match=r"weight 'dense/kernel' holds nan at index \(3, 4\); "
                       "refusing to write non-finite weights"):
        export_model(model, tmp_path / "m")
    assert not (tmp_path / "m").exists()
    assert list(tmp_path.iterdir()) == []


def test_refuses_non_float32_weights(tmp_path):
    model = every_kind_cnn()
    model.layers[0].weights["bias"] = model.layers[0].weights["bias"].astype(np.float64)
    with pytest.raises(ExportError,
                       match=r"weight 'conv2d/bias' has dtype float64, expected float32"):
        export_model(model, tmp_path / "m")


def test_refuses_float16_overflow(tmp_path):
    model = every_kind_cnn()
    model.layers[0].weights["bias"][1] = 70000.0
    with pytest.raises(ExportError, match=r"weight 'conv2d/bias' has values up to 70000, beyond "
                       r"float16's range \(65504\)"):
        export_model(model, tmp_path / "m", quantize="float16")


def test_leaky_relu_activation_is_written_as_a_leaky_relu_layer_tfjs_can_load(tmp_path):
    """tfjs-layers has no "leaky_relu" activation string: Dense(activation="leaky_relu")
    trains in numpy, so export writes Dense(linear) + LeakyReLU(0.3), the same function."""
    model = Sequential([Flatten(), Dense(10, activation="leaky_relu"),
                        Dense(3, activation="softmax")], input_shape=(4, 4, 1), seed=0)
    folder = export_model(model, tmp_path / "m")
    layers = json.loads((folder / "model.json").read_text())["modelTopology"]["config"]["layers"]
    assert [(layer["class_name"], layer["config"].get("activation")) for layer in layers] == [
        ("Flatten", None), ("Dense", "linear"), ("LeakyReLU", None), ("Dense", "softmax")]
    assert layers[2]["config"]["alpha"] == 0.3
    x = np.random.default_rng(0).standard_normal((5, 4, 4, 1)).astype(np.float32)
    np.testing.assert_allclose(load_exported(folder).predict(x), model.predict(x), atol=1e-6)


@pytest.mark.parametrize("size", [0, -4, 2.5, True], ids=["zero", "negative", "float", "bool"])
def test_refuses_bad_shard_size(size, tmp_path):
    with pytest.raises(ExportError, match=r"shard size must be a positive number of bytes"):
        export_model(every_kind_cnn(), tmp_path / "m", shard_size_bytes=size)


def test_refuses_unknown_quantization(tmp_path):
    with pytest.raises(ExportError, match=r"unknown quantization 'int4'; expected one of "
                       "float16, uint8 or none"):
        export_model(every_kind_cnn(), tmp_path / "m", quantize="int4")


def test_refuses_more_shards_than_the_reader_accepts(tmp_path):
    with pytest.raises(ExportError, match=r"would make \d+ files, over the reader's limit of 4096"):
        export_model(build("mlp"), tmp_path / "m", shard_size_bytes=64)


def test_refuses_to_replace_a_folder_holding_other_files(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match=r"holds files that are not part of an export "
                       r"\(notes\.txt\); refusing to replace it"):
        export_model(every_kind_cnn(), tmp_path / "m")
    assert (tmp_path / "m" / "notes.txt").read_text() == "mine"


def test_refuses_an_out_dir_that_is_a_file(tmp_path):
    (tmp_path / "m").write_text("x")
    with pytest.raises(ExportError, match=r"exists and is not a folder"):
        export_model(every_kind_cnn(), tmp_path / "m")


# ----------------------------------------------------------------------------- atomic writes

def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_reexport_replaces_the_whole_folder(tmp_path):
    folder = export_model(with_random_biases(every_kind_cnn()), tmp_path / "m",
                          shard_size_bytes=1000)
    assert len(list(folder.glob("*.bin"))) > 1
    export_model(every_kind_cnn(seed=5), folder)
    assert sorted(p.name for p in folder.iterdir()) == ["group1-shard1of1.bin", "model.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no staging or backup left


def test_a_failed_export_leaves_the_good_folder_untouched(tmp_path):
    folder = export_model(with_random_biases(every_kind_cnn()), tmp_path / "m")
    before = snapshot(folder)
    bad = every_kind_cnn(seed=3)
    bad.layers[0].weights["kernel"][0, 0, 0, 0] = np.inf
    with pytest.raises(ExportError):
        export_model(bad, folder)
    assert snapshot(folder) == before


def test_a_failed_rename_restores_the_old_folder(tmp_path, monkeypatch):
    folder = export_model(with_random_biases(every_kind_cnn()), tmp_path / "m")
    before = snapshot(folder)
    real_replace = os.replace

    def failing_replace(source, target):
        if Path(source).name.startswith(".m.export-"):
            raise OSError("disk full (simulated)")
        return real_replace(source, target)

    monkeypatch.setattr(atomic_folder.os, "replace", failing_replace)
    with pytest.raises(OSError, match="simulated"):
        export_model(every_kind_cnn(seed=4), folder)
    assert snapshot(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_exported_folder_gets_the_usual_permissions_not_mkdtemps_0700(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    folder = export_model(every_kind_cnn(), tmp_path / "m")
    assert folder.stat().st_mode & 0o777 == 0o777 & ~umask


# ----------------------------------------------------------------------------- CLI

def test_cli_exports_a_checkpoint(tmp_path, capsys):
    from model_export.checkpoint import save_checkpoint
    from model_export.cli import main
    from model_export.nn.optimizers import get_optimizer
    model = with_random_biases(every_kind_cnn())
    checkpoint = save_checkpoint(tmp_path / "checkpoint.npz", model, get_optimizer("sgd"), {}, {})
    assert main(["export", str(checkpoint), str(tmp_path / "out"), "--quantize", "uint8"]) == 0
    assert "model.json + 1 shard" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "out" / "model.json").read_text())["weightsManifest"]
    assert manifest[0]["weights"][0]["quantization"]["dtype"] == "uint8"


def test_cli_refuses_a_missing_source_in_one_line(tmp_path, capsys):
    from model_export.cli import main
    assert main(["export", str(tmp_path / "nope.npz"), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("shadernet export: error: ") and "no such checkpoint file" in err
    assert not (tmp_path / "out").exists()


def test_cli_refuses_a_broken_exported_folder_in_one_line(tmp_path, capsys):
    from model_export.cli import main
    folder = export_model(every_kind_cnn(), tmp_path / "m")
    shard = folder / "group1-shard1of1.bin"
    shard.write_bytes(shard.read_bytes()[:-8])
    assert main(["export", str(folder), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "group1-shard1of1.bin:" in err and "manifest needs" in err


@pytest.mark.parametrize("argv,message", [
    (["--shard-size", "0"], "expected a positive number of bytes"),
    (["--quantize", "int4"], "invalid choice: 'int4'"),
], ids=["shard-size-0", "quantize-int4"])
def test_cli_rejects_bad_options(argv, message, tmp_path, capsys):
    from model_export.cli import main
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(tmp_path / "a.npz"), str(tmp_path / "out"), *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_load_exported_accepts_initializers_only_tfjs_knows(tmp_path):
    model = with_random_biases(every_kind_cnn())
    folder = export_model(model, tmp_path / "m")
    model_json = json.loads((folder / "model.json").read_text())
    for layer in model_json["modelTopology"]["config"]["layers"]:
        if "kernel_initializer" in layer["config"]:
            layer["config"]["kernel_initializer"] = {"class_name": "VarianceScaling", "config": {
                "scale": 1, "mode": "fan_avg", "distribution": "normal", "seed": None}}
    (folder / "model.json").write_text(json.dumps(model_json))
    loaded = load_exported(folder)
    for (name, value), (_, back) in zip(model.get_weights(), loaded.get_weights()):
        assert back.tobytes() == value.tobytes(), name
