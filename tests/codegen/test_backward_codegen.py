"""Backward and optimizer program builders in plain CPython (no browser): shapes and
attributes baked into the source as literals, inputs read only where needed, ShapeError
messages for mismatched shapes, and the program cache over FakeGL."""

from __future__ import annotations

import re

import pytest

from webgl_backend.context import GLContext
from webgl_backend.errors import ShapeError
from webgl_backend.fake_gl import FakeGL
from webgl_backend.ops.activations import activation_backward, leaky_relu_backward
from webgl_backend.ops.conv import (
    conv2d_backward_bias,
    conv2d_backward_input,
    conv2d_backward_kernel,
)
from webgl_backend.ops.dense import (
    dense_backward_bias,
    dense_backward_input,
    dense_backward_kernel,
    dense_transpose_input,
)
from webgl_backend.ops.gradients import gradient_inputs
from webgl_backend.ops.losses import softmax_cross_entropy_backward, softmax_cross_entropy_forward
from webgl_backend.ops.optimizers import adam_alpha, adam_update, momentum_update, sgd_update
from webgl_backend.ops.pool import avg_pool2d_backward, max_pool2d_backward


def _body(program) -> str:
    """The op's own part of the source (after the shared prelude)."""
    return program.source.split("// ---- ", 1)[1]


def _every_backward_program():
    return [
        dense_backward_input((3, 7), (13, 7), (3, 7), activation="relu"),
        dense_backward_kernel((5, 13), (5, 7), (5, 7), activation="tanh"),
        dense_backward_bias((5, 7)),
        dense_transpose_input((5, 13)),
        conv2d_backward_input((1, 3, 4, 4), (3, 3, 3, 4), x_shape=(1, 5, 7, 3), strides=2,
                              padding="same"),
        conv2d_backward_kernel((1, 5, 7, 3), (1, 3, 4, 4), (1, 3, 4, 4), kernel_size=3,
                               strides=2, padding="same", activation="elu"),
        conv2d_backward_bias((2, 3, 4, 6), (2, 3, 4, 6), activation="sigmoid"),
        max_pool2d_backward((1, 3, 4, 3), (1, 5, 7, 3), 2, 2, "same"),
        avg_pool2d_backward((1, 2, 3, 3), (1, 5, 7, 3), 2, 2, "valid"),
        activation_backward("leaky_relu", (2, 3), (2, 3), alpha=0.2),
        softmax_cross_entropy_forward((5, 10), (5,)),
        softmax_cross_entropy_backward((5, 10), (5,)),
        sgd_update((13, 7), l2=0.01),
        momentum_update((13, 7)),
        adam_update((3, 3, 3, 5)),
    ]


@pytest.mark.parametrize("program", _every_backward_program(),
                         ids=lambda p: f"{p.name}-{'x'.join(map(str, p.output_shape))}")
def test_every_backward_source_is_complete_glsl_with_one_sampler_per_input(program):
    source = program.source
    assert source.startswith("#version 300 es\n")
    assert "$" not in source
    uniforms = re.findall(r"^uniform (\w+) (\w+);", source, flags=re.M)
    assert [name for _, name in uniforms] == list(program.inputs)
    assert {kind for kind, _ in uniforms} == {"sampler2D"}
    assert "void main()" in source and ("write_output(" in source
                                        or "shadernet_out1 = " in source)


# -- dense ------------------------------------------------------------------------------

def test_dense_backward_input_bakes_rows_k_units_and_the_fused_relu_gradient():
    program = dense_backward_input((3, 7), (13, 7), (3, 7), activation="relu")
    assert program.name == "dense_backward_input"
    assert program.inputs == ("dy", "y", "kernel")
    assert program.output_shape == (3, 13)
    # Texels: dy (3, 2), y (3, 2), kernel (13, 2), dx (3, 4).
    assert program.input_widths == (2, 2, 2) and program.output_width == 4
    body = _body(program)
    assert "dx (3, 13) = dz (3, 7) @ kernel^T" in body
    assert "if (t >= 12)" in body                                  # 3 rows x 4 texels
    assert "int k1 = min(k + 1, 13 - 1)" in body                   # clamped past K
    assert "for (int u4 = 0; u4 < 1; ++u4)" in body                # 4 of the 7 units ...
    assert "vec4 g = dz_at(row, 1) * vec4(1.0, 1.0, 1.0, 0.0);" in body  # ... then 3 lanes
    assert "return dy * vec4(greaterThan(y, vec4(0.0)));" in body
    assert "write_output(acc * lane_mask(k, 13));" in body


def test_dense_backward_input_writes_dx_in_the_layer_input_shape():
    program = dense_backward_input((2, 5), (72, 5), x_shape=(2, 3, 3, 8))
    assert program.output_shape == (2, 3, 3, 8)
    assert program.inputs == ("dy", "kernel")                      # linear: no y read


def test_dense_backward_kernel_reads_x_transposed_four_rows_per_fetch():
    program = dense_backward_kernel((6, 13), (6, 7), (6, 7), activation="tanh")
    assert program.inputs == ("xt", "dy", "y")
    assert program.output_shape == (13, 7)
    # xt (13, 6): 2 texels per input k; dy/y (6, 7): 2 texels per row.
    assert program.input_widths == (2, 2, 2)
    body = _body(program)
    assert "dkernel (13, 7) = x^T (13, 6) @ dz (6, 7)" in body
    assert "for (int r4 = 0; r4 < 1; ++r4)" in body                # rows 0-3 by fours ...
    assert "acc += xs.x * dz_at(4, o.y) + xs.y * dz_at(5, o.y);" in body  # ... 4, 5 alone
    assert "return dy * (1.0 - y * y);" in body
    assert "lane_mask(4 * o.y, 7)" in body
    assert "[lane]" not in body                                    # no dynamic lane pick


def test_dense_transpose_input_packs_rows_by_four_and_reads_a_view_by_its_width():
    # x is a (2, 72) view of a (2, 3, 3, 8) tensor, whose texture is 3 * 2 texels wide.
    program = dense_transpose_input((2, 72), widths={"x": 6})
    assert program.inputs == ("x",)
    assert program.output_shape == (72, 2)
    assert program.input_widths == (6,)
    body = _body(program)
    assert "xt (72, 2) = x (2, 72)^T" in body
    assert "if (row + j < 2) v[j] = dot(x_texel((row + j) * 18 + k4), pick);" in body
    own_layout = _body(dense_transpose_input((5, 13)))
    assert "dot(x_at(row + j, k4), pick)" in own_layout


def test_dense_backward_kernel_ignores_the_width_of_x_it_does_not_read():
    program = dense_backward_kernel((2, 72), (2, 5), widths={"x": 6, "dy": 2})
    assert program.inputs == ("xt", "dy") and program.input_widths == (1, 2)


def test_dense_backward_bias_sums_every_row_and_masks_the_tail():
    program = dense_backward_bias((5, 7))
    assert program.inputs == ("dy",)
    assert program.output_shape == (7,)
    body = _body(program)
    assert "for (int row = 0; row < 5; ++row)" in body
    assert "p.x += 2;" in body                                     # 2 texels per row
    assert "lane_mask(4 * c4, 7)" in body


# -- conv2d -----------------------------------------------------------------------------

def test_conv2d_backward_input_bakes_tf_same_geometry_and_stride_phases():
    program = conv2d_backward_input((1, 3, 4, 4), (3, 3, 3, 4), x_shape=(1, 5, 7, 3),
                                    strides=2, padding="same")
    assert program.inputs == ("dy", "kernel")
    assert program.output_shape == (1, 5, 7, 3)
    body = _body(program)
    # same, stride 2: 5 -> 3 rows, total pad (3-1)*2 + 3 - 5 = 2: top 1; 7 -> 4: left 1.
    assert "strides (2, 2), pads top 1" in body
    assert "int ay = o.y + 1;" in body and "int ax = o.z + 1;" in body
    assert "for (int ky = ay % 2; ky < 3; ky += 2)" in body
    assert "if (oy >= 3) continue;" in body and "if (ox >= 4) continue;" in body
    assert "write_output(acc * lane_mask(ci, 3));" in body


def test_conv2d_backward_kernel_bakes_the_window_and_writes_the_kernel_shape():
    program = conv2d_backward_kernel((2, 6, 6, 1), (2, 6, 6, 6), (2, 6, 6, 6), kernel_size=6,
                                     strides=1, padding="same", activation="relu")
    assert program.inputs == ("x", "dy", "y")
    assert program.output_shape == (6, 6, 1, 6)
    body = _body(program)
    # same, 6x6 window on 6: total pad 5, the odd extra at the bottom/right: top 2.
    assert "pads top\n// 2 left 2" in body or "pads top 2 left 2" in body
    assert "for (int n = 0; n < 2; ++n)" in body
    assert "lane_mask(4 * o.w, 6)" in body


def test_conv2d_backward_bias_is_the_shared_bias_program_over_four_axes():
    program = conv2d_backward_bias((2, 3, 4, 6), (2, 3, 4, 6), activation="sigmoid")
    assert program.name == "conv2d_backward_bias"
    assert program.inputs == ("dy", "y")
    assert program.output_shape == (6,)
    body = _body(program)
    assert "for (int row = 0; row < 24; ++row)" in body            # 2 * 3 * 4 pixels
    assert "return dy * y * (1.0 - y);" in body


# -- pools, activations, loss -----------------------------------------------------------

def test_pool_backward_programs_read_only_what_they_need():
    max_program = max_pool2d_backward((1, 3, 4, 3), (1, 5, 7, 3), 2, 2, "same")
    avg_program = avg_pool2d_backward((1, 2, 3, 3), (1, 5, 7, 3), 2, 2, "valid")
    assert max_program.inputs == ("dy", "x") and avg_program.inputs == ("dy",)
    assert max_program.output_shape == avg_program.output_shape == (1, 5, 7, 3)
    assert "window (2, 2), strides (2, 2), pads top 0 left 0" in _body(max_program)
    # The first maximum in row-major window order takes the gradient (strict '>').
    assert "bvec4 better = greaterThan(v, best);" in _body(max_program)
    assert "acc += dy_at(o.x, oy, ox, o.w) / float(rows * cols);" in _body(avg_program)


@pytest.mark.parametrize("activation, alpha, snippet", [
    ("relu", None, "return dy * vec4(greaterThan(y, vec4(0.0)));"),
    ("leaky_relu", 0.2, "return mix(dy * 0.2, dy, greaterThan(y, vec4(0.0)));"),
    ("leaky_relu", None, "return mix(dy * 0.3, dy, greaterThan(y, vec4(0.0)));"),
    ("elu", None, "return mix(dy * (y + 1.0), dy, greaterThan(y, vec4(0.0)));"),
    ("sigmoid", None, "return dy * y * (1.0 - y);"),
    ("tanh", None, "return dy * (1.0 - y * y);"),
], ids=["relu", "leaky_relu-0.2", "leaky_relu-default", "elu", "sigmoid", "tanh"])
def test_activation_backward_bakes_the_derivative_from_y(activation, alpha, snippet):
    program = activation_backward(activation, (2, 3, 4, 6), (2, 3, 4, 6), alpha=alpha)
    assert program.name == f"{activation}_backward"
    assert program.inputs == ("dy", "y")
    body = _body(program)
    assert snippet in body
    # 6 channels: the second texel of each pixel has 2 real lanes, zeroed past them.
    assert "if (t % 2 == 1) dx *= vec4(1.0, 1.0, 0.0, 0.0);" in body


def test_activation_backward_with_whole_texels_needs_no_tail_mask():
    assert "dx *=" not in _body(leaky_relu_backward((4, 8), (4, 8), 0.1))


def test_softmax_cross_entropy_bakes_rows_and_classes():
    loss = softmax_cross_entropy_forward((5, 10), (5,))
    grad = softmax_cross_entropy_backward((5, 10), (5,))
    assert loss.inputs == grad.inputs == ("logits", "labels")
    assert loss.output_shape == (1,) and grad.output_shape == (5, 10)
    assert "for (int row = 0; row < 5; ++row)" in _body(loss)
    assert "write_output(vec4(-total_loss / 5.0, 0.0, 0.0, 0.0));" in _body(loss)
    # 10 classes: two whole texels and a tail of 2 lanes.
    assert "total += exp(tail.y - largest);" in _body(grad)
    assert "tail.z" not in _body(grad)
    assert "(probs - onehot) / 5.0 * lane_mask(4 * c4, 10)" in _body(grad)


# -- optimizers -------------------------------------------------------------------------

def test_sgd_update_bakes_the_weight_decay_as_a_literal():
    program = sgd_update((13, 7), l2=0.01)
    assert program.inputs == ("param", "grad", "hyper")
    assert program.output_shape == (13, 7)
    body = _body(program)
    assert "vec4 g = grad_fetch(p) + 0.02 * w;" in body   # 2 * l2
    assert "write_output(w - lr * g);" in body
    assert "* w;" not in _body(sgd_update((13, 7)))                # no decay term at l2=0


def test_momentum_update_writes_param_and_velocity_in_one_draw():
    program = momentum_update((6,), momentum=0.8)
    assert program.inputs == ("param", "grad", "velocity", "hyper")
    assert program.outputs == 2
    body = _body(program)
    assert "vec4 v_new = 0.8 * velocity_fetch(p);" in body
    assert "shadernet_out = w + v_new;" in body
    assert "shadernet_out1 = v_new;" in body


def test_adam_update_bakes_betas_and_epsilon_as_literals_and_writes_three_targets():
    program = adam_update((3, 3, 3, 5), beta_1=0.5, beta_2=0.75)
    assert program.inputs == ("param", "grad", "m", "v", "hyper")
    assert program.output_shape == (3, 3, 3, 5)
    assert program.outputs == 3
    body = _body(program)
    assert "vec4 m_new = m_old + (g - m_old) * 0.5;" in body
    assert "vec4 v_new = v_old + (g * g - v_old) * 0.25;" in body
    assert "shadernet_out = w - (m_new * alpha) / (sqrt(v_new) + 1.0e-07);" in body
    assert "shadernet_out1 = m_new;" in body and "shadernet_out2 = v_new;" in body


def test_adam_alpha_folds_the_bias_correction_like_keras():
    assert adam_alpha(0.1, 0.9, 0.999, 1) == pytest.approx(0.1 * 0.001 ** 0.5 / 0.1)
    with pytest.raises(ValueError, match="adam_alpha: step must be >= 1, got 0"):
        adam_alpha(0.1, 0.9, 0.999, 0)


# -- errors -----------------------------------------------------------------------------

@pytest.mark.parametrize("call, match", [
    (lambda: dense_backward_input((3, 8), (13, 7)),
     r"dense_backward_input: dy has 8 units but the layer has 7 \(dy \(3, 8\)\)"),
    (lambda: dense_backward_input((3, 7), (13, 7, 1)),
     r"dense_backward_input: kernel must be 2-D \(k, units\), got \(13, 7, 1\)"),
    (lambda: dense_backward_input((2, 5), (9, 5), x_shape=(2, 3, 3, 1)),
     r"dense_backward_input: x_shape \(2, 3, 3, 1\) does not hold 2 rows of k=9"),
    (lambda: dense_backward_input((3, 7), (13, 7), activation="relu"),
     r"dense_backward_input: activation 'relu' needs y \(the activated output\); "
     r"got y_shape=None"),
    (lambda: dense_backward_kernel((4, 13), (5, 7)),
     r"dense_backward_kernel: x \(4, 13\) has 4 rows but dy \(5, 7\) has 5"),
    (lambda: dense_backward_kernel((13,), (5, 7)),
     r"dense_backward_kernel: x must be \(n, ..., k\) with positive sizes, got \(13,\)"),
    (lambda: dense_backward_kernel((5, 13), (5, 7), (5, 8), activation="relu"),
     r"dense_backward_kernel: y \(5, 8\) and dy \(5, 7\) must have the same shape"),
    (lambda: conv2d_backward_bias((2, 3, 4, 6), (2, 4, 3, 6), activation="relu"),
     r"conv2d_backward_bias: y \(2, 4, 3, 6\) and dy \(2, 3, 4, 6\) must have the same shape"),
    (lambda: dense_backward_bias((7,)),
     r"dense_backward_bias: dy must be \(n, ..., units\) with positive sizes, got \(7,\)"),
    (lambda: conv2d_backward_input((1, 3, 3, 4), (3, 3, 3, 4), x_shape=(1, 5, 7, 3),
                                   strides=2, padding="same"),
     r"conv2d_backward_input: dy has shape \(1, 3, 3, 4\), expected \(1, 3, 4, 4\) for x "
     r"\(1, 5, 7, 3\), kernel \(3, 3, 3, 4\), strides 2, padding 'same'"),
    (lambda: conv2d_backward_input((1, 3, 5, 4), (3, 3, 2, 4), x_shape=(1, 5, 7, 3)),
     r"conv2d_backward_input: input has 3 channels but kernel expects cin=2 "
     r"\(x \(1, 5, 7, 3\), kernel \(3, 3, 2, 4\)\)"),
    (lambda: conv2d_backward_kernel((5, 7, 3), (1, 3, 5, 4), kernel_size=3),
     r"conv2d_backward_kernel: x and dy must be 4-D \(n, h, w, c\), got x \(5, 7, 3\)"),
    (lambda: conv2d_backward_kernel((1, 5, 7, 3), (1, 3, 5, 4), kernel_size=0),
     r"conv2d_backward_kernel: kernel_size must be a positive int or pair of them, got 0"),
    (lambda: conv2d_backward_bias((6, 4)),
     r"conv2d_backward_bias: dy must be 4-D \(n, oh, ow, cout\), got \(6, 4\)"),
    (lambda: max_pool2d_backward((1, 2, 3, 3), (1, 5, 7, 3), 2, 2, "same"),
     r"max_pool2d_backward: dy has shape \(1, 2, 3, 3\), expected \(1, 3, 4, 3\) for x "
     r"\(1, 5, 7, 3\), pool_size 2, strides 2, padding 'same'"),
    (lambda: avg_pool2d_backward((1, 2, 3, 3), (1, 5, 7), 2, 2, "valid"),
     r"avg_pool2d_backward: x must be 4-D \(n, h, w, c\)"),
    (lambda: activation_backward("relu", (2, 3), (3, 2)),
     r"relu_backward: y \(3, 2\) and dy \(2, 3\) must have the same shape"),
    (lambda: activation_backward("softmax", (2, 3), (2, 3)),
     r"no standalone gradient program for 'softmax'"),
    (lambda: activation_backward("leaky_relu", (2, 3), (2, 3), alpha=-0.1),
     r"Invalid value for argument `alpha` of leaky_relu_backward\. Expected a value >= 0\. "
     r"Received alpha=-0.1"),
    (lambda: softmax_cross_entropy_backward((5, 10), (4,)),
     r"softmax_cross_entropy_backward: labels must have shape \(5,\) to match logits "
     r"\(5, 10\), got \(4,\)"),
    (lambda: softmax_cross_entropy_forward((5, 2, 10), (5,)),
     r"softmax_cross_entropy_forward: logits must be \(n, classes\) with positive sizes"),
    (lambda: sgd_update((0, 7)), r"sgd_update: param must have positive dimensions"),
], ids=["dense-dx-units", "dense-dx-kernel-3d", "dense-dx-x_shape", "dense-dx-relu-no-y",
        "dense-dk-rows", "dense-dk-x-1d", "dense-dk-y-shape", "conv-db-y-shape", "dense-db-1d",
        "conv-dx-dy", "conv-dx-cin", "conv-dk-3d", "conv-dk-size-0", "conv-db-2d", "maxpool-dy",
        "avgpool-x-3d", "act-shapes", "act-softmax", "act-leaky-alpha-negative", "loss-labels",
        "loss-logits-3d", "sgd-empty"])
def test_backward_shape_errors_say_what_and_expected_vs_got(call, match):
    with pytest.raises(ShapeError, match=match):
        call()


@pytest.mark.parametrize("call, match", [
    (lambda: sgd_update((3,), l2=-0.1), r"sgd_update: l2 must be >= 0, got l2=-0.1"),
    (lambda: momentum_update((3,), momentum=1.0),
     r"momentum_update: momentum must be in \[0, 1\), got 1.0"),
    (lambda: adam_update((3,), beta_2=1.5), r"adam_update: beta_2 must be in \[0, 1\), got 1.5"),
    (lambda: adam_update((3,), epsilon=0.0), r"adam_update: epsilon must be > 0, got 0.0"),
], ids=["sgd-l2", "momentum-1", "adam-beta2", "adam-epsilon"])
def test_optimizer_argument_errors_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_gradient_inputs_need_y_only_for_a_nonlinear_activation():
    assert gradient_inputs("op", (2, 3), None, "linear") == {"dy": (2, 3)}
    assert gradient_inputs("op", (2, 3), (2, 3), "elu") == {"dy": (2, 3), "y": (2, 3)}


# -- the program cache over FakeGL ------------------------------------------------------

def test_rebuilt_backward_and_update_programs_hit_the_cache():
    gl = FakeGL()
    context = GLContext(gl)
    first = [context.compile(program) for program in _every_backward_program()]
    compiles, shader_compiles = context.compiles, gl.count("compileShader")
    assert compiles == len(first)
    again = [context.compile(program) for program in _every_backward_program()]
    assert all(a is b for a, b in zip(first, again))
    assert context.compiles == compiles
    assert gl.count("compileShader") == shader_compiles
    # Another attribute is another source, so another program.
    context.compile(sgd_update((13, 7), l2=0.02))
    assert context.compiles == compiles + 1


@pytest.mark.parametrize("builder", [max_pool2d_backward, avg_pool2d_backward],
                         ids=["max_pool2d", "avg_pool2d"])
def test_pool_backward_bakes_the_window_range_of_its_cell(builder):
    # x (1, 5, 7, 3), window 3, stride 2, 'same': oh 3, ow 4, pads top 1 left 1.
    program = builder((1, 3, 4, 3), (1, 5, 7, 3), 3, 2, "same")
    body = _body(program)
    assert "int oy_lo = max(0, (ay - 3 + 2) / 2);" in body
    assert "int ox_hi = min(4 - 1, ax / 2);" in body
    assert "int ay = o.y + 1;" in body and "$" not in body
