"""dense_forward (matmul + bias + fused activation/softmax): GLSL vs model_export numpy."""

from __future__ import annotations

import numpy as np
import pytest

from model_export.nn import activations as act
from model_export.nn.dense import dense_forward as np_dense
from tests.ops.parity import Case, check_case, run_cases, shape_id

pytestmark = pytest.mark.browser

_FUSED = {
    "linear": act.linear_forward, "relu": act.relu_forward, "elu": act.elu_forward,
    "sigmoid": act.sigmoid_forward, "tanh": act.tanh_forward, "softmax": act.softmax_forward,
}

# (x shape, units, activation, use_bias, leaky alpha)
GRID = [
    ((1, 13), 10, "relu", True, None),        # K=13: not a multiple of 4
    ((1, 3), 1, "tanh", True, None),          # K < 4: only the remainder loop runs
    ((7, 5), 3, "linear", False, None),       # no bias, odd batch
    ((2, 4), 12, "softmax", True, None),      # fused softmax, K exactly 4
    ((5, 30), 7, "sigmoid", True, None),
    ((5, 30), 7, "elu", True, None),
    ((5, 30), 7, "leaky_relu", True, 0.2),
    ((3, 784), 200, "relu", True, None),      # the default model's dense: rows wrap
    ((1029, 21), 10, "softmax", True, None),  # batch > 1024, output wider than a texture row
    ((2, 3, 5), 4, "linear", True, None),     # Dense on the last axis of a 3-D tensor
    ((9001, 13), 5, "relu", True, None),      # 9001 texel rows > MAX_TEXTURE_SIZE: near-square
]                                             # fallback layout, x rows straddle texture rows


def _reference(activation, alpha, use_bias):
    def reference(x, kernel, bias=None):
        y = np_dense(x.reshape(-1, x.shape[-1]), kernel, bias if use_bias else None)
        y = y.reshape(x.shape[:-1] + (kernel.shape[1],))
        if activation == "leaky_relu":
            return act.leaky_relu_forward(y, alpha)
        return _FUSED[activation](y)
    return reference


def _case(x_shape, units, activation, use_bias, alpha, op="dense_forward") -> Case:
    rng = np.random.default_rng(sum(x_shape) * 31 + units)
    k = x_shape[-1]
    inputs = {"x": rng.standard_normal(x_shape).astype(np.float32),
              "kernel": (rng.standard_normal((k, units)) / np.sqrt(k)).astype(np.float32)}
    if use_bias:
        inputs["bias"] = rng.standard_normal(units).astype(np.float32)
    attrs = {"activation": activation}
    if alpha is not None:
        attrs["alpha"] = alpha
    case_id = (f"x={shape_id(x_shape)}-k={k}x{units}-{activation}"
               + ("" if use_bias else "-nobias"))
    return Case(case_id, "dense", op, inputs, _reference(activation, alpha, use_bias), attrs)


# dense_forward_programs: four rows per fragment (multiple render targets) + a gather draw
# from ROWS4_MIN_ROWS rows on. (x shape, units, activation, use_bias, leaky alpha)
ROWS4_GRID = [
    ((8, 13), 10, "relu", True, None),        # the threshold; K % 4 = 1
    ((9, 6), 7, "tanh", True, None),          # 9 rows: the last group has one real row
    ((33, 784), 512, "relu", True, None),     # the MLP's first layer, batch 33
    ((11, 30), 3, "leaky_relu", False, 0.2),  # no bias, units < 4
    ((4, 3, 5), 4, "elu", True, None),        # Dense on the last axis of a 3-D tensor
    ((9001, 13), 5, "sigmoid", True, None),   # near-square fallback: x rows straddle
    ((7, 5), 3, "linear", True, None),        # below the threshold: one dense_forward draw
    ((16, 12), 10, "softmax", True, None),    # fused softmax: one dense_forward draw
]

CASES = ([_case(*params) for params in GRID]
         + [_case(*params, op="dense_forward_programs") for params in ROWS4_GRID])


@pytest.fixture(scope="module")
def results(pyodide_page):
    return run_cases(pyodide_page, CASES)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.op}-{c.id}" for c in CASES])
def test_dense_forward(case, results):
    check_case(case, results)


def test_many_rows_take_the_four_row_path_and_few_rows_or_softmax_one_draw(results):
    draws = {c.id: results[c.key]["draws"] for c in CASES if c.op == "dense_forward_programs"}
    assert draws["x=33x784-k=784x512-relu"] == 2
    assert draws["x=9x6-k=6x7-tanh"] == 2
    assert draws["x=7x5-k=5x3-linear"] == 1
    assert draws["x=16x12-k=12x10-softmax"] == 1
