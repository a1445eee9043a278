"""Shapes are checked when a program is built, before any GL call, with what/expected/got."""

from __future__ import annotations

import pytest

from webgl_backend.errors import ShapeError
from webgl_backend.ops.activations import activation_forward, activation_snippet
from webgl_backend.ops.conv import conv2d_forward
from webgl_backend.ops.dense import dense_forward
from webgl_backend.ops.pool import avg_pool2d_forward, max_pool2d_forward
from webgl_backend.ops.softmax import softmax_forward


def test_conv2d_channel_mismatch_names_both_shapes():
    message = ("conv2d: input has 3 channels but kernel expects cin=1 "
               "(x (1, 28, 28, 3), kernel (3, 3, 1, 8))")
    with pytest.raises(ShapeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        conv2d_forward((1, 28, 28, 3), (3, 3, 1, 8))


@pytest.mark.parametrize("call, match", [
    (lambda: conv2d_forward((1, 28, 28), (3, 3, 1, 8)), r"x must be 4-D \(n, h, w, c\)"),
    (lambda: conv2d_forward((1, 28, 28, 1), (3, 3, 1)), r"kernel must be 4-D"),
    (lambda: conv2d_forward((1, 4, 4, 1), (5, 5, 1, 2)),
     r"conv2d: window 5 does not fit input size 4 with padding='valid'"),
    (lambda: conv2d_forward((1, 4, 4, 1), (3, 3, 1, 2), (3,)),
     r"conv2d: bias must have shape \(2,\)"),
    (lambda: conv2d_forward((1, 4, 4, 1), (3, 3, 1, 2), padding="full"),
     r"padding must be 'same' or 'valid', got 'full'"),
    (lambda: conv2d_forward((1, 4, 4, 1), (3, 3, 1, 2), strides=0),
     r"strides must be a positive int"),
    (lambda: dense_forward((2, 784), (748, 10)),
     r"dense: x has 784 features but kernel expects k=748 \(x \(2, 784\), kernel \(748, 10\)\)"),
    (lambda: dense_forward((2, 5), (5, 3), (4,)), r"dense: bias must have shape \(3,\)"),
    (lambda: dense_forward((5,), (5, 3)), r"dense: x must be \(n, ..., k\)"),
    (lambda: dense_forward((2, 5), (5, 100), activation="softmax"),
     r"fused softmax supports at most 64 units, got 100"),
    (lambda: max_pool2d_forward((1, 3, 3, 1), (4, 4), (1, 1), "valid"),
     r"max_pool2d: window 4 does not fit input size 3"),
    (lambda: avg_pool2d_forward((1, 3, 3), (2, 2)), r"avg_pool2d: x must be 4-D"),
    (lambda: softmax_forward((0, 10)), r"softmax: x must have positive dimensions"),
    (lambda: activation_forward("swish", (2, 3)), r"unknown activation 'swish'"),
    (lambda: activation_snippet("softmax"), r"'softmax' cannot be fused"),
], ids=["conv-x-3d", "conv-kernel-3d", "conv-valid-too-big", "conv-bias", "conv-padding",
        "conv-stride-0", "dense-k", "dense-bias", "dense-x-1d", "dense-softmax-wide",
        "maxpool-too-big", "avgpool-x-3d", "softmax-empty", "activation-unknown",
        "snippet-softmax"])
def test_shape_errors_say_what_and_expected_vs_got(call, match):
    with pytest.raises(ShapeError, match=match):
        call()
