"""Runtime plans of the new layer classes over FakeGL: BatchNormalization folded where it
can be, ops chosen per layer, the generated GLSL of each new builder, and the trainer's
plans of their backward programs (BatchNormalization's: test_batch_norm_training_plan.py)."""

from __future__ import annotations

import pytest

from tests.export.keras_corpus import CORPUS
from webgl_backend.errors import ShapeError
from webgl_backend.fake_gl import FakeGL
from webgl_backend.model_format import read_model_dir
from webgl_backend.ops.channel_affine import channel_affine_forward
from webgl_backend.ops.global_pool import global_pool2d_forward
from webgl_backend.ops.keras_activations import keras_activation_snippet, layer_activation
from webgl_backend.ops.zero_padding import zero_padding2d_forward
from webgl_backend.runtime import Runtime
from webgl_backend.training import FineTuner


def loaded(name: str):
    return Runtime(FakeGL()).load_model(read_model_dir(CORPUS / name), {}, warm_up=False)


def test_batch_norms_fold_into_the_dense_or_conv_next_to_them():
    ops = [(op.layer_name, op.kind) for op in loaded("dense_batchnorm").ops]
    assert ops == [("flatten", "view"),
                   ("dense+batch_normalization+activation", "dense"),
                   ("dense_1+batch_normalization_1+re_lu", "dense"),  # bias created
                   ("batch_normalization_2+dense_2", "dense")]  # after the ReLU: into the next
    model = loaded("conv_batchnorm")
    assert [op.kind for op in model.ops] == ["conv2d", "conv2d", "global_avg_pool2d", "dense"]
    assert len(model.ops[0].weights) == 2  # the bias-free conv got the folded bias


def test_relu_layers_fuse_when_they_are_a_plain_activation():
    kinds = [(op.layer_name, op.kind, op.attrs.get("activation")) for op in
             loaded("relu_variants").ops]
    assert ("dense_1+re_lu_1", "dense", "leaky_relu") in kinds  # negative_slope only
    assert ("re_lu", "keras_activation", None) in kinds  # max_value: its own draw
    assert layer_activation("ReLU", {"max_value": None, "negative_slope": 0.0,
                                     "threshold": 0.0}) == ("relu", None)
    assert layer_activation("ELU", {"alpha": 0.7}) is None


def test_keras_relu_snippet_bakes_in_every_argument():
    snippet = keras_activation_snippet("ReLU", {"max_value": 1.5, "negative_slope": 0.1,
                                                "threshold": 0.25})
    assert snippet == ("vec4 activate(vec4 v) { return mix((v - 0.25) * 0.1, min(v, 1.5), "
                       "greaterThan(v, vec4(0.25))); }")
    assert "0.7 * (exp(min(v, 0.0)) - 1.0)" in keras_activation_snippet("ELU", {"alpha": 0.7})


def test_new_builders_generate_their_programs():
    pad = zero_padding2d_forward((2, 3, 4, 5), ((1, 2), (0, 3)))
    assert pad.output_shape == (2, 6, 7, 5) and "int row = y.y - 1;" in pad.source
    gap = global_pool2d_forward("avg", (2, 3, 4, 5))
    assert gap.output_shape == (2, 5) and "acc / float(12)" in gap.source
    assert "greaterThan(v, acc)" in global_pool2d_forward("max", (1, 2, 2, 3)).source
    affine = channel_affine_forward((4, 6))
    assert affine.inputs == ("x", "scale", "shift") and "x_at(o.x, c4)" in affine.source
    with pytest.raises(ShapeError, match="global_pool2d: mode 'sum'"):
        global_pool2d_forward("sum", (1, 2, 2, 3))
    with pytest.raises(ShapeError, match=r"zero_padding2d: needs x \(n, h, w, c\)"):
        zero_padding2d_forward((2, 3), ((0, 0), (0, 0)))


def test_fine_tuning_plans_the_new_backward_programs():
    model = loaded("zero_padding")
    tuner = FineTuner(model)
    tuner.configure_training(optimizer="sgd", learning_rate=0.1)
    plan = tuner._plan(2)
    labels = [getattr(draw, "label", None) for draw in plan.draws]
    assert "zero_padding2d_1 dx" in labels and "zero_padding2d_2 dx" in labels
    assert [draw.compiled.program.name for draw in plan.draws
            if getattr(draw, "label", None) == "zero_padding2d_1 dx"] == ["zero_padding2d_backward"]


def test_softmax_backward_sums_only_the_real_lanes_of_a_row():
    from webgl_backend.ops.softmax import softmax_backward

    program = softmax_backward((3, 6))
    assert program.inputs == ("dy", "y") and program.output_shape == (3, 6)
    assert "vec4(1.0, 1.0, 0.0, 0.0)" in program.source  # 6 = 4 + 2 real lanes
    with pytest.raises(ShapeError, match="softmax_backward: dy must have positive"):
        softmax_backward((3, 0))


def test_a_softmax_layer_inside_the_model_gets_a_backward_pass():
    from array import array

    from model_export.export import build_files
    from model_export.layers import Dense, Softmax
    from model_export.model import Sequential

    model = Sequential([Dense(6, activation="tanh"), Softmax(), Dense(3, activation="softmax")],
                       input_shape=(5,), seed=1)
    tuner = FineTuner(Runtime(FakeGL()).load_model(*build_files(model)))
    tuner.configure_training(optimizer="sgd", learning_rate=0.1)
    tuner.fit_batch(array("f", [0.5] * 10), [0, 2], 2)
    names = [draw.compiled.program.name for draw in tuner._plan(2).draws
             if getattr(draw, "label", None) == "softmax dx"]
    assert names == ["softmax_backward"]
