"""conv2d_forward (bias + activation fused): GLSL vs model_export numpy on awkward shapes."""

from __future__ import annotations

import numpy as np
import pytest

from model_export.nn import activations as act
from model_export.nn.conv import conv2d_forward as np_conv2d
from tests.ops.parity import Case, check_case, run_cases, shape_id

pytestmark = pytest.mark.browser

# (x shape (n, h, w, cin), kernel (kh, kw, cout), strides, padding, activation, use_bias)
GRID = [
    ((1, 5, 7, 3), (3, 3, 4), (1, 1), "same", "relu", True),
    ((1, 5, 7, 3), (3, 3, 4), (2, 2), "same", "linear", True),
    ((3, 5, 7, 1), (1, 1, 2), (1, 1), "valid", "linear", True),
    ((3, 11, 28, 5), (5, 5, 3), (2, 2), "valid", "tanh", True),
    ((3, 11, 28, 5), (5, 5, 3), (2, 2), "same", "elu", True),
    ((1, 28, 28, 1), (6, 6, 6), (1, 1), "same", "relu", True),     # default model conv 1
    ((2, 28, 28, 6), (5, 5, 12), (2, 2), "same", "relu", True),    # default model conv 2
    ((1, 14, 14, 12), (4, 4, 24), (2, 2), "same", "relu", True),   # default model conv 3
    ((3, 9, 9, 3), (6, 6, 2), (2, 2), "same", "sigmoid", True),    # even kernel, odd total pad
    ((1, 6, 6, 3), (6, 6, 2), (1, 1), "valid", "linear", True),    # window = whole input
    ((5, 7, 5, 3), (3, 3, 4), (2, 1), "valid", "sigmoid", False),  # unequal strides, no bias
    ((1, 11, 11, 2), (3, 3, 2), (3, 3), "same", "elu", True),      # stride 3 on 11
    ((2, 8, 8, 5), (2, 2, 5), (2, 2), "valid", "linear", True),
    ((37, 12, 12, 3), (5, 5, 6), (1, 1), "same", "relu", True),    # flat sizes > texture row
    ((1, 8200, 3, 2), (3, 3, 3), (1, 1), "same", "linear", True),  # too tall: flat fallback
    ((1, 8200, 3, 5), (3, 1, 6), (2, 1), "valid", "relu", True),   # fallback in, row layout out
]


def _reference(strides, padding, activation, use_bias):
    def reference(x, kernel, bias=None):
        y = np_conv2d(x, kernel, bias if use_bias else None, strides, padding)
        return getattr(act, f"{activation}_forward")(y)
    return reference


def _case(x_shape, kernel_spec, strides, padding, activation, use_bias) -> Case:
    kh, kw, cout = kernel_spec
    cin = x_shape[3]
    rng = np.random.default_rng(sum(x_shape) * 7 + kh * 3 + cout)
    inputs = {"x": rng.standard_normal(x_shape).astype(np.float32),
              "kernel": (rng.standard_normal((kh, kw, cin, cout)) / np.sqrt(kh * kw * cin))
              .astype(np.float32)}
    if use_bias:
        inputs["bias"] = rng.standard_normal(cout).astype(np.float32)
    stride_id = f"s{strides[0]}" if strides[0] == strides[1] else f"s{strides[0]}x{strides[1]}"
    case_id = (f"x={shape_id(x_shape)}-k={kh}x{kw}x{cin}x{cout}-{stride_id}-{padding}-{activation}"
               + ("" if use_bias else "-nobias"))
    attrs = {"strides": list(strides), "padding": padding, "activation": activation}
    return Case(case_id, "conv", "conv2d_forward", inputs,
                _reference(strides, padding, activation, use_bias), attrs)


# A batch (from 8 images) draws four images per fragment, then a gather (ops/conv_groups.py):
# batches not a multiple of 4 check the clamped last group.
GROUPED_GRID = [
    ((9, 28, 28, 1), (6, 6, 6), (1, 1), "same", "relu", True),     # default model conv 1
    ((10, 28, 28, 6), (5, 5, 12), (2, 2), "same", "relu", True),   # default model conv 2
    ((8, 14, 14, 12), (4, 4, 24), (2, 2), "same", "relu", True),   # default model conv 3
    ((13, 11, 28, 5), (5, 5, 3), (2, 2), "valid", "tanh", True),
    ((9, 7, 5, 3), (3, 3, 4), (2, 1), "valid", "sigmoid", False),
    ((37, 12, 12, 3), (5, 5, 6), (1, 1), "same", "elu", True),
]


def _grouped_case(*params) -> Case:
    case = _case(*params)
    return Case(case.id + "-grouped", "conv_groups", "conv2d_forward_programs", case.inputs,
                case.reference, case.attrs)


CASES = [_case(*params) for params in GRID] + [_grouped_case(*params) for params in GROUPED_GRID]


@pytest.fixture(scope="module")
def results(pyodide_page):
    return run_cases(pyodide_page, CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_conv2d_forward(case, results):
    check_case(case, results)


def test_a_batch_draws_four_images_per_fragment_then_a_gather(results):
    assert {results[c.key]["draws"] for c in CASES if c.module == "conv_groups"} == {2}
