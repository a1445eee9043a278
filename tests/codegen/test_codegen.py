"""Codegen in plain CPython: literals, templates, layouts, shapes baked into the source."""

from __future__ import annotations

import re

import pytest

from webgl_backend import codegen
from webgl_backend.codegen import (
    fill_template,
    float_literal,
    load_template,
    texel_shape,
    texture_layout,
)
from webgl_backend.errors import ShapeError
from webgl_backend.ops.activations import activation_forward, activation_snippet
from webgl_backend.ops.conv import conv2d_forward
from webgl_backend.ops.dense import dense_forward
from webgl_backend.ops.pool import avg_pool2d_forward, max_pool2d_forward
from webgl_backend.ops.softmax import softmax_forward


@pytest.mark.parametrize("value, literal", [
    (1, "1.0"), (0, "0.0"), (-2, "-2.0"), (0.5, "0.5"), (0.1, "0.1"),
    (1 / 3, "0.3333333333333333"), (1e-05, "1.0e-05"), (2.5e-07, "2.5e-07"), (1e20, "1e+20"),
])
def test_float_literal_always_has_a_point_and_full_precision(value, literal):
    expected = "1.0e+20" if literal == "1e+20" else literal
    assert float_literal(value) == expected
    assert float(float_literal(value)) == float(value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_float_literal_rejects_non_finite(value):
    with pytest.raises(ValueError, match="GLSL has no literal"):
        float_literal(value)


def test_fill_template_names_the_missing_placeholder(monkeypatch):
    monkeypatch.setitem(codegen._TEMPLATE_CACHE, "t_missing", "int a = ${A}; int b = ${B};")
    with pytest.raises(ValueError, match=r"'t_missing': placeholder \$\{B\} has no value"):
        fill_template("t_missing", {"A": 1})


def test_fill_template_rejects_a_leftover_dollar(monkeypatch):
    monkeypatch.setitem(codegen._TEMPLATE_CACHE, "t_dollar", "int a = ${A};\nint b = $$B;")
    with pytest.raises(ValueError, match=r"'\$' is left after substitution at line 2"):
        fill_template("t_dollar", {"A": 1})


def test_load_template_reads_the_repository_shaders():
    assert load_template("prelude").startswith("#version 300 es\n")
    with pytest.raises(FileNotFoundError, match="no_such_op.glsl"):
        load_template("no_such_op")


@pytest.mark.parametrize("texels, layout", [
    (1, (1, 1)), (10, (4, 3)), (16, (4, 4)), (17, (5, 4)), (4704, (69, 69)),
])
def test_flat_layout_is_near_square(texels, layout):
    width, height = texture_layout(texels)
    assert (width, height) == layout
    assert width * height >= texels > width * (height - 1)


def test_flat_layout_fills_up_to_the_maximum_and_refuses_what_cannot_fit():
    assert texture_layout(64 * 64, max_texture_size=64) == (64, 64)
    with pytest.raises(ShapeError, match="larger than MAX_TEXTURE_SIZE=64"):
        texture_layout(64 * 64 + 1, max_texture_size=64)


@pytest.mark.parametrize("shape, texels, layout", [
    ((1, 28, 28, 1), (1, 28, 28, 1), (28, 28)),
    ((256, 14, 14, 12), (256, 14, 14, 3), (42, 3584)),
    ((6, 6, 1, 6), (6, 6, 1, 2), (2, 36)),
    ((1176, 200), (1176, 50), (50, 1176)),
    ((10,), (3,), (3, 1)),
    ((400, 28, 28, 1), (400, 28, 28, 1), (560, 560)),
], ids=["image", "batch-256", "kernel", "dense-kernel", "bias", "too-tall-falls-back"])
def test_texture_layout_packs_the_last_axis_by_4_with_one_image_row_per_row(shape, texels,
                                                                             layout):
    assert texel_shape(shape) == texels
    assert texture_layout(shape, max_texture_size=8192) == layout


def _every_program():
    return [
        dense_forward((3, 13), (13, 10), (10,), activation="relu"),
        dense_forward((3, 13), (13, 10), (10,), activation="softmax"),
        conv2d_forward((1, 5, 7, 3), (3, 3, 3, 4), (4,), strides=2, padding="same"),
        max_pool2d_forward((1, 5, 7, 3), (2, 2), (2, 2), "same"),
        avg_pool2d_forward((1, 5, 7, 3), (2, 2), (2, 2), "valid"),
        softmax_forward((4, 10)),
        activation_forward("leaky_relu", (2, 3), alpha=0.2),
        activation_forward("tanh", (2, 3)),
    ]


@pytest.mark.parametrize("program", _every_program(), ids=lambda p: p.name)
def test_every_source_starts_with_the_version_and_has_only_sampler_uniforms(program):
    assert program.source.startswith("#version 300 es\n")
    assert "$" not in program.source
    uniforms = re.findall(r"^uniform (\w+) (\w+);", program.source, flags=re.M)
    assert [name for _, name in uniforms] == list(program.inputs)
    assert {kind for kind, _ in uniforms} == {"sampler2D"}


def test_dense_bakes_shapes_in_as_literals():
    program = dense_forward((3, 13), (13, 10), (10,), activation="relu")
    assert program.output_shape == (3, 10)
    assert program.inputs == ("x", "kernel", "bias")
    # Texels: x (3, 4), kernel (13, 3), bias (3,), y (3, 3).
    assert program.input_widths == (4, 3, 3) and program.output_width == 3
    source = program.source
    assert "int start = row * 4;" in source
    assert "for (int k4 = 0; k4 < 3; ++k4)" in source     # 12 of the 13 inputs by fours ...
    assert "acc += xs.x * kernel_at(12, u4);" in source     # ... the 13th alone
    assert "if (texel.x ==" not in source                   # rows never straddle: no wrap test
    assert ("vec4 kernel_at(int at_row, int at_c4) "
            "{ return kernel_fetch(ivec2(at_c4, at_row)); }") in source
    # A texel is read at its centre: (p + 0.5) / (width, height) of the 3x13 texture.
    assert ("vec4 kernel_fetch(ivec2 p) { return texture(kernel, (vec2(p) + 0.5) * "
            "vec2(0.3333333333333333, 0.07692307692307693)); }") in source
    assert "if (t >= 9)" in source
    assert "return max(v, 0.0);" in source


def test_dense_reading_a_flattened_view_uses_the_view_texture_width():
    program = dense_forward((1, 1176), (1176, 200), (200,), widths={"x": 42})
    assert program.input_widths == (42, 50, 50)
    assert "if (texel.x == 42)" in program.source         # 294 texels per row wrap at 42
    # A row of 13 inputs (4 texels) in a 6-texel-wide texture straddles texture rows.
    assert "if (texel.x == 6)" in dense_forward((3, 13), (13, 2), widths={"x": 6}).source


def test_accessors_fall_back_to_flat_indexing_when_the_width_is_not_a_row():
    program = conv2d_forward((2, 5, 7, 3), (3, 3, 3, 4), widths={"x": 6})
    assert ("vec4 x_at(int at_n, int at_y, int at_x, int at_c4) "
            "{ return x_texel(((at_n * 5 + at_y) * 7 + at_x) * 1 + at_c4); }") in program.source
    row_layout = conv2d_forward((2, 5, 7, 3), (3, 3, 3, 4))
    assert ("vec4 x_at(int at_n, int at_y, int at_x, int at_c4) "
            "{ return x_fetch(ivec2(at_x * 1 + at_c4, at_n * 5 + at_y)); }"
            ) in row_layout.source


def test_conv2d_bakes_geometry_with_tf_same_padding():
    # 9 -> ceil(9 / 2) = 5 rows; total pad (5-1)*2 + 6 - 9 = 5: top 2, bottom 3.
    program = conv2d_forward((3, 9, 9, 3), (6, 6, 3, 2), (2,), strides=(2, 2), padding="same",
                             activation="sigmoid")
    assert program.output_shape == (3, 5, 5, 2)
    assert "int in_row = y.y * 2 + ky - 2;" in program.source
    assert "int in_col = y.z * 2 + kx - 2;" in program.source
    # cin = 3: no full group of four channels, one tail texel with three lanes.
    assert "for (int c4 = 0; c4 < 0; ++c4)" in program.source
    assert ("acc += xs.x * kernel_at(ky, kx, 0, co4) + xs.y * kernel_at(ky, kx, 1, co4) "
            "+ xs.z * kernel_at(ky, kx, 2, co4);") in program.source


def test_fused_softmax_uses_only_the_real_lanes_of_the_last_texel():
    source = dense_forward((2, 8), (8, 10), (10,), activation="softmax").source
    assert "largest = max(largest, logits[2].y);" in source
    assert "logits[2].z" not in source


def test_leaky_relu_alpha_is_a_float_literal():
    assert "0.2 * min(v, 0.0)" in activation_snippet("leaky_relu", 0.2)
    assert "1.0 * min(v, 0.0)" in activation_snippet("leaky_relu", 1)


def test_identical_calls_give_identical_sources_and_different_shapes_differ():
    first = conv2d_forward((1, 5, 7, 3), (3, 3, 3, 4), (4,), padding="same")
    again = conv2d_forward((1, 5, 7, 3), (3, 3, 3, 4), (4,), padding="same")
    batch2 = conv2d_forward((2, 5, 7, 3), (3, 3, 3, 4), (4,), padding="same")
    assert first == again
    assert first.source != batch2.source


def test_dump_switch_prints_every_generated_source(monkeypatch, capsys):
    monkeypatch.setenv("SHADERNET_DUMP_SHADERS", "1")
    dense_forward((2, 5), (5, 3))
    out = capsys.readouterr().out
    assert "==== dense_forward (2, 3)" in out
    assert "   1 | #version 300 es" in out
    monkeypatch.setenv("SHADERNET_DUMP_SHADERS", "0")
    dense_forward((2, 5), (5, 3))
    assert capsys.readouterr().out == ""


# -- helpers shared by the builders --------------------------------------------------------


@pytest.mark.parametrize("count, expected", [
    (4, ""),
    (5, "xs.x * kernel_at(4, u4)"),
    (7, "xs.x * kernel_at(4, u4) + xs.y * kernel_at(5, u4) + xs.z * kernel_at(6, u4)"),
], ids=["count=4-no-tail", "count=5-one-lane", "count=7-three-lanes"])
def test_tail_terms_use_only_the_real_lanes_of_the_last_texel(count, expected):
    assert codegen.tail_terms(count, "kernel_at({i}, u4)") == expected


def test_layer_inputs_add_a_bias_that_matches_the_kernel_units():
    inputs = codegen.layer_inputs("dense", (3, 5), (5, 7), [7])
    assert inputs == {"x": (3, 5), "kernel": (5, 7), "bias": (7,)}
    assert codegen.bias_init(inputs, "u4") == "bias_at(u4)"
    no_bias = codegen.layer_inputs("dense", (3, 5), (5, 7), None)
    assert "bias" not in no_bias and codegen.bias_init(no_bias, "u4") == "vec4(0.0)"


def test_layer_inputs_reject_a_bias_of_the_wrong_size_naming_the_op():
    with pytest.raises(ShapeError, match=r"conv2d: bias must have shape \(8,\) to match kernel "
                                         r"\(3, 3, 1, 8\), got \(9,\)"):
        codegen.layer_inputs("conv2d", (1, 5, 5, 1), (3, 3, 1, 8), (9,))


@pytest.mark.parametrize("widths, expected", [(None, 3), ({}, 3), ({"x": 11}, 11), ({"y": 11}, 3)],
                         ids=["no-widths", "empty", "x-given", "other-input-given"])
def test_input_width_is_the_given_width_or_the_default_layout(widths, expected):
    # (2, 9) packs 9 values in 3 texels per row: default width 3.
    assert codegen.input_width("x", (2, 9), widths, 4096) == expected
