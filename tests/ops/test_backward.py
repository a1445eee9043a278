"""Backward programs (dense, conv2d, pools, activations, softmax cross-entropy) and optimizer
updates in the page vs model_export's numpy reference, on awkward shapes, in one round trip.

A producer's activation gradient is fused (dz = dy * f'(y) read from dy and y), so dense
and conv2d cases feed dy and y = f(z) and compare with numpy's `<act>_backward(dy, z, y)`
followed by `<op>_backward`. Pre-activations are nudged away from 0 (the ReLU kink).
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from model_export.nn import activations as act
from model_export.nn import optimizers as opt
from model_export.nn.conv import conv2d_backward as np_conv2d_backward
from model_export.nn.conv import conv2d_forward as np_conv2d_forward
from model_export.nn.dense import dense_backward as np_dense_backward
from model_export.nn.losses import (
    softmax_cross_entropy_backward as np_sce_backward,
)
from model_export.nn.losses import (
    softmax_cross_entropy_forward as np_sce_forward,
)
from model_export.nn.pool import avg_pool2d_backward as np_avg_backward
from model_export.nn.pool import avg_pool2d_forward as np_avg_forward
from model_export.nn.pool import max_pool2d_backward as np_max_backward
from model_export.nn.pool import max_pool2d_forward as np_max_forward
from tests.ops.backward_parity import GradCase, check_grad_case, run_grad_cases
from tests.ops.parity import shape_id

pytestmark = pytest.mark.browser

F32 = np.float32


def _rng(*salt) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(salt).encode()))


def _away_from_zero(z: np.ndarray) -> np.ndarray:
    return np.where(np.abs(z) < 0.05, np.sign(z) * 0.05 + (z == 0) * 0.05, z).astype(F32)


def _activated(rng, shape, activation, alpha=None):
    """(z, y, dy) float32: pre-activation, activated output, incoming gradient."""
    z = _away_from_zero(rng.standard_normal(shape).astype(F32))
    forward = act.ACTIVATIONS[activation].forward
    y = forward(z, alpha) if activation == "leaky_relu" else forward(z)
    dy = rng.standard_normal(shape).astype(F32)
    return z, y.astype(F32), dy


def _dz(activation, dy, z, y, alpha=None):
    backward = act.ACTIVATIONS[activation].backward
    d64 = [a.astype(np.float64) for a in (dy, z, y)]
    return backward(*d64, alpha) if activation == "leaky_relu" else backward(*d64)


def _act_attrs(activation, alpha):
    attrs = {"activation": activation}
    if alpha is not None:
        attrs["alpha"] = alpha
    return attrs


# -- dense ------------------------------------------------------------------------------

# (x shape (its last axis is k), units, activation, leaky alpha)
DENSE_GRID = [
    ((1, 13), 7, "relu", None),           # batch 1, k and units not multiples of 4
    ((5, 12), 8, "linear", None),         # no activation: dy read as is
    ((3, 784), 200, "relu", None),        # the MLP's first layer: rows wrap
    ((7, 200), 10, "sigmoid", None),
    ((4, 30), 3, "leaky_relu", 0.2),
    ((2, 9), 5, "elu", None),
    ((3, 6), 1, "tanh", None),            # a single unit
    ((2, 3, 3, 8), 5, "relu", None),      # x is a 4-D tensor read flat (Flatten view)
]


def _dense_cases(x_shape, units, activation, alpha):
    rng = _rng("dense", x_shape, units, activation)
    k = x_shape[-1] if len(x_shape) == 2 else int(np.prod(x_shape[1:]))
    rows = x_shape[0]
    x = rng.standard_normal(x_shape).astype(F32)
    kernel = (rng.standard_normal((k, units)) / np.sqrt(k)).astype(F32)
    z, y, dy = _activated(rng, (rows, units), activation, alpha)
    dz = _dz(activation, dy, z, y, alpha)
    dx, dkernel, dbias = np_dense_backward(dz, x.reshape(rows, k).astype(np.float64),
                                           kernel.astype(np.float64))
    case_id = f"x={shape_id(x_shape)}-k={k}x{units}-{activation}"
    attrs = _act_attrs(activation, alpha)
    uses_y = activation != "linear"
    grad = {"dy": dy, "y": y} if uses_y else {"dy": dy}
    args = ("dy", "y") if uses_y else ("dy",)
    four_d = len(x_shape) == 4
    return [
        GradCase(case_id, "dense", "dense_backward_input", "dx",
                 {"dy": dy, "kernel": kernel, **({"y": y} if uses_y else {})},
                 ("dy", "kernel") + (("y",) if uses_y else ()),
                 lambda: dx.reshape(x_shape),
                 {**attrs, "x_shape": list(x_shape)} if four_d else attrs),
        # The program reads x transposed (xt, written by dense_transpose_input); x is
        # given for its shape.
        GradCase(case_id, "dense", "dense_backward_kernel", "dkernel",
                 {"x": x, "xt": np.ascontiguousarray(x.reshape(rows, k).T), **grad},
                 ("x",) + args, lambda: dkernel, attrs, widths=("x",) if four_d else (),
                 views={"x": (rows, k)} if four_d else {}),
        GradCase(case_id, "dense", "dense_transpose_input", "xt", {"x": x}, ("x",),
                 lambda: x.reshape(rows, k).T, widths=("x",) if four_d else (),
                 views={"x": (rows, k)} if four_d else {}),
        GradCase(case_id, "dense", "dense_backward_bias", "dbias", grad, args,
                 lambda: dbias, attrs),
    ]


# The kernel gradient of a Dense with 8 inputs or more (ops/dense_grouped_grads.py): four
# inputs per fragment from x read by row, then a gather; it reads dz. Row counts not a
# multiple of 4, k not a multiple of 4, and x a Flatten view of an NHWC tensor (whose
# texture rows the walk crosses).
DENSE_GROUP_GRID = [
    ((3, 784), 200),          # the MLP's first layer
    ((7, 200), 10),
    ((5, 10), 3),             # k and units not multiples of 4
    ((4, 12), 8),
    ((9, 30), 6),
    ((2, 3, 3, 8), 5),        # a view: texture width 6 texels, 18 per row
    ((5, 7, 7, 24), 200),     # the CNN's Dense after Flatten: width 42, 294 per row
]


def _dense_group_cases(x_shape, units):
    rng = _rng("dense groups", x_shape, units)
    rows, k = x_shape[0], int(np.prod(x_shape[1:]))
    x = rng.standard_normal(x_shape).astype(F32)
    dz = rng.standard_normal((rows, units)).astype(F32)
    kernel = (rng.standard_normal((k, units)) / np.sqrt(k)).astype(F32)
    dkernel = x.reshape(rows, k).astype(np.float64).T @ dz.astype(np.float64)
    dx = (dz.astype(np.float64) @ kernel.astype(np.float64).T).reshape(x_shape)
    below_y = np.maximum(rng.standard_normal(x_shape), 0).astype(F32)
    four_d = len(x_shape) == 4
    case_id = f"x={shape_id(x_shape)}-k={k}x{units}"
    return [GradCase(case_id, "dense_grouped_grads", "dense_backward_kernel_grouped", "dkernel",
                     {"x": x, "dy": dz}, ("x", "dy"), lambda: dkernel,
                     widths=("x",) if four_d else (), views={"x": (rows, k)} if four_d else {}),
            # dx comes out in the layer input's shape (NHWC under a Flatten)
            GradCase(case_id, "dense_grouped_grads", "dense_backward_input_grouped", "dx",
                     {"dy": dz, "kernel": kernel}, ("dy", "kernel"), lambda: dx,
                     {"x_shape": list(x_shape)}),
            # the gather also applies the ReLU gradient of the layer below (its output y)
            GradCase(case_id + "-below=relu", "dense_grouped_grads",
                     "dense_backward_input_grouped", "dz below",
                     {"dy": dz, "kernel": kernel, "y": below_y}, ("dy", "kernel"),
                     lambda: dx * (below_y > 0), {"x_shape": list(x_shape),
                                                  "activation": "relu"})]


# -- conv2d -----------------------------------------------------------------------------

# (x shape, kernel shape, stride, padding, activation)
CONV_GRID = [
    ((1, 5, 7, 3), (3, 3, 3, 4), 2, "same", "relu"),
    ((2, 6, 6, 1), (6, 6, 1, 6), 1, "same", "relu"),      # the default CNN's conv1 (odd pad)
    ((2, 7, 5, 6), (5, 5, 6, 12), 2, "same", "linear"),   # conv2's kind: 5x5 s2 on odd sizes
    ((1, 8, 8, 12), (4, 4, 12, 24), 2, "same", "tanh"),   # conv3's kind
    ((1, 5, 7, 3), (3, 3, 3, 5), 2, "valid", "sigmoid"),
    ((3, 11, 28, 1), (1, 1, 1, 3), 1, "valid", "elu"),
    ((1, 5, 5, 2), (2, 2, 2, 4), 1, "valid", "relu"),
    ((1, 7, 7, 3), (1, 1, 3, 2), 2, "valid", "linear"),   # stride > kernel: cells get no gradient
]


def _conv_cases(x_shape, kernel_shape, stride, padding, activation):
    rng = _rng("conv", x_shape, kernel_shape, stride, padding)
    x = rng.standard_normal(x_shape).astype(F32)
    kernel = (rng.standard_normal(kernel_shape) / np.sqrt(np.prod(kernel_shape[:3]))).astype(F32)
    y_shape = np_conv2d_forward(x, kernel, None, (stride, stride), padding).shape
    z, y, dy = _activated(rng, y_shape, activation)
    dz = _dz(activation, dy, z, y)
    dx, dkernel, dbias = np_conv2d_backward(dz, x.astype(np.float64), kernel.astype(np.float64),
                                            (stride, stride), padding)
    case_id = (f"x={shape_id(x_shape)}-k={shape_id(kernel_shape)}-s{stride}-{padding}-"
               f"{activation}")
    geometry = {"strides": [stride, stride], "padding": padding}
    attrs = _act_attrs(activation, None)
    uses_y = activation != "linear"
    grad = {"dy": dy, "y": y} if uses_y else {"dy": dy}
    args = ("dy", "y") if uses_y else ("dy",)
    return [
        GradCase(case_id, "conv", "conv2d_backward_input", "dx", {"kernel": kernel, **grad},
                 ("dy", "kernel") + (("y",) if uses_y else ()), lambda: dx,
                 {**attrs, **geometry, "x_shape": list(x_shape)}),
        GradCase(case_id, "conv", "conv2d_backward_kernel", "dkernel", {"x": x, **grad},
                 ("x",) + args, lambda: dkernel,
                 {**attrs, **geometry, "kernel_size": list(kernel_shape[:2])}),
        GradCase(case_id, "conv", "conv2d_backward_bias", "dbias", grad, args, lambda: dbias,
                 attrs),
    ]


# The draws a conv layer appends for a batch (ops/conv_groups.py): dkernel four input
# channels and dx four images per fragment, then a gather; they read dz (linear). Batch
# sizes not a multiple of 4 check the clamped last group; cin 5 and cout 2, 6 the tails.
CONV_GROUP_GRID = [
    ((9, 6, 6, 1), (6, 6, 1, 6), 1, "same"),      # conv1's kind: cin 1, one program for dkernel
    ((9, 7, 5, 6), (5, 5, 6, 12), 2, "same"),     # conv2's kind
    ((8, 8, 8, 12), (4, 4, 12, 24), 2, "same"),   # conv3's kind
    ((10, 7, 7, 5), (3, 3, 5, 2), 2, "valid"),
    ((13, 5, 5, 2), (2, 2, 2, 4), 1, "valid"),
]


def _conv_group_cases(x_shape, kernel_shape, stride, padding):
    rng = _rng("conv groups", x_shape, kernel_shape, stride, padding)
    x = rng.standard_normal(x_shape).astype(F32)
    kernel = (rng.standard_normal(kernel_shape) / np.sqrt(np.prod(kernel_shape[:3]))).astype(F32)
    dz = rng.standard_normal(
        np_conv2d_forward(x, kernel, None, (stride, stride), padding).shape).astype(F32)
    dx, dkernel, _ = np_conv2d_backward(dz.astype(np.float64), x.astype(np.float64),
                                        kernel.astype(np.float64), (stride, stride), padding)
    case_id = f"x={shape_id(x_shape)}-k={shape_id(kernel_shape)}-s{stride}-{padding}"
    geometry = {"strides": [stride, stride], "padding": padding}
    below_y = (1 / (1 + np.exp(-rng.standard_normal(x_shape)))).astype(F32)  # a sigmoid's
    return [
        GradCase(case_id, "conv_groups", "conv2d_backward_input_programs", "dx",
                 {"dy": dz, "kernel": kernel}, ("dy", "kernel"), lambda: dx,
                 {**geometry, "x_shape": list(x_shape)}),
        # the gather also applies the sigmoid gradient of the layer below (its output y)
        GradCase(case_id + "-below=sigmoid", "conv_groups", "conv2d_backward_input_programs",
                 "dz below", {"dy": dz, "kernel": kernel, "y": below_y}, ("dy", "kernel"),
                 lambda: dx * below_y * (1 - below_y),
                 {**geometry, "x_shape": list(x_shape), "activation": "sigmoid"}),
        GradCase(case_id, "conv_groups", "conv2d_backward_kernel_programs", "dkernel",
                 {"x": x, "dy": dz}, ("x", "dy"), lambda: dkernel,
                 {**geometry, "kernel_size": list(kernel_shape[:2])}),
    ]


# -- pools ------------------------------------------------------------------------------

# (x shape, pool, stride, padding, ties)
POOL_GRID = [
    ((1, 5, 7, 3), 2, 2, "valid", False),
    ((2, 5, 7, 3), 3, 2, "same", False),     # overlapping windows, padded edges
    ((1, 4, 4, 1), 2, 1, "valid", True),     # ties: the first maximum takes the gradient
    ((1, 6, 6, 5), 2, 2, "same", True),
    ((1, 7, 5, 8), 3, 3, "same", False),
]


def _pool_cases(x_shape, pool, stride, padding, ties):
    rng = _rng("pool", x_shape, pool, stride, padding, ties)
    if ties:
        x = rng.integers(0, 3, x_shape).astype(F32)
    else:
        x = rng.permutation(np.prod(x_shape)).reshape(x_shape).astype(F32) / 7.0
    window = {"pool_size": [pool, pool], "strides": [stride, stride], "padding": padding}
    case_id = f"x={shape_id(x_shape)}-p{pool}-s{stride}-{padding}" + ("-ties" if ties else "")
    cases = []
    for kind, forward, backward in (("max_pool2d", np_max_forward, np_max_backward),
                                    ("avg_pool2d", np_avg_forward, np_avg_backward)):
        y_shape = forward(x, (pool, pool), (stride, stride), padding).shape
        dy = rng.standard_normal(y_shape).astype(F32)
        expected = backward(dy.astype(np.float64), x.astype(np.float64), (pool, pool),
                            (stride, stride), padding)
        cases.append(GradCase(case_id, "pool", f"{kind}_backward", "dx", {"dy": dy, "x": x},
                              ("dy", "x"), lambda e=expected: e, window))
    return cases


# -- activations, loss, optimizers ------------------------------------------------------

ACTIVATION_GRID = [("relu", (3, 5)), ("leaky_relu", (2, 3, 4, 6)), ("elu", (1, 9)),
                   ("sigmoid", (2, 3, 4, 6)), ("tanh", (4, 8))]


def _activation_case(activation, shape):
    rng = _rng("act", activation, shape)
    alpha = 0.3 if activation == "leaky_relu" else None
    z, y, dy = _activated(rng, shape, activation, alpha)
    expected = _dz(activation, dy, z, y, alpha)
    return GradCase(f"{activation}-{shape_id(shape)}", "activations", f"{activation}_backward",
                    "dx", {"dy": dy, "y": y}, ("dy", "y"), lambda: expected)


LOSS_GRID = [(5, 10), (1, 3), (16, 10), (33, 7)]


def _loss_cases(rows, classes):
    rng = _rng("loss", rows, classes)
    logits = (3 * rng.standard_normal((rows, classes))).astype(F32)
    labels = rng.integers(0, classes, rows)
    loss, probs = np_sce_forward(logits.astype(np.float64), labels)
    dlogits = np_sce_backward(probs, labels)
    inputs = {"logits": logits, "labels": labels.astype(F32)}
    case_id = f"logits={rows}x{classes}"
    return [
        GradCase(case_id, "losses", "softmax_cross_entropy_backward", "dlogits", inputs,
                 ("logits", "labels"), lambda: dlogits),
        GradCase(case_id, "losses", "softmax_cross_entropy_forward", "loss", inputs,
                 ("logits", "labels"), lambda: np.array([loss])),
    ]


# (optimizer, param shape, l2, step for Adam)
OPTIMIZER_GRID = [("sgd", (13, 7), 0.0, 1), ("sgd", (3, 3, 3, 5), 0.01, 1),
                  ("momentum", (13, 7), 0.0, 1), ("momentum", (6,), 0.005, 1),
                  ("adam", (13, 7), 0.0, 1), ("adam", (3, 3, 3, 5), 0.01, 7)]
LR = 0.05


def _optimizer_cases(optimizer, shape, l2, step):
    rng = _rng("opt", optimizer, shape, l2)
    param = rng.standard_normal(shape).astype(F32)
    grad = rng.standard_normal(shape).astype(F32)
    state = {"velocity": 0.1 * rng.standard_normal(shape).astype(F32),
             "m": 0.1 * rng.standard_normal(shape).astype(F32),
             "v": np.abs(0.1 * rng.standard_normal(shape)).astype(F32)}
    new = {"param": param.copy(), **{k: v.copy() for k, v in state.items()}}
    total = grad + ((2.0 * l2) * param if l2 else 0)
    total = total.astype(F32)
    alpha = 0.0
    if optimizer == "sgd":
        opt.sgd_update(new["param"], total, LR)
        names = ("param",)
    elif optimizer == "momentum":
        opt.momentum_update(new["param"], total, new["velocity"], LR, 0.9)
        names = ("param", "velocity")
    else:
        opt.adam_update(new["param"], total, new["m"], new["v"], step, LR, 0.9, 0.999, 1e-7)
        alpha = LR * (1 - 0.999 ** step) ** 0.5 / (1 - 0.9 ** step)
        names = ("param", "m", "v")
    inputs = {"param": param, "grad": grad, "hyper": np.array([LR, alpha, 0, 0], F32),
              **{name: state[name] for name in names if name != "param"}}
    case_id = f"{optimizer}-p={shape_id(shape)}-l2={l2}-t{step}"
    # One draw writes every target (multiple render targets, in `names` order).
    return [GradCase(f"{case_id}-{target}", "optimizers", f"{optimizer}_update", target,
                     inputs, ("param",), lambda t=target: new[t], {"l2": l2}, output=j)
            for j, target in enumerate(names)]


CASES = ([c for params in DENSE_GRID for c in _dense_cases(*params)]
         + [c for params in DENSE_GROUP_GRID for c in _dense_group_cases(*params)]
         + [c for params in CONV_GRID for c in _conv_cases(*params)]
         + [c for params in CONV_GROUP_GRID for c in _conv_group_cases(*params)]
         + [c for params in POOL_GRID for c in _pool_cases(*params)]
         + [_activation_case(*params) for params in ACTIVATION_GRID]
         + [c for params in LOSS_GRID for c in _loss_cases(*params)]
         + [c for params in OPTIMIZER_GRID for c in _optimizer_cases(*params)])


@pytest.fixture(scope="module")
def results(pyodide_page):
    return run_grad_cases(pyodide_page, CASES)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.op}-{c.id}" for c in CASES])
def test_backward_matches_numpy(case, results):
    check_grad_case(case, results)


def test_conv_gradients_of_a_batch_draw_grouped_then_gather(results):
    """From 8 images dx is four images per fragment + a gather; from 2 input channels
    dkernel four channels per fragment + a gather; conv1's single channel keeps one draw."""
    draws = {c.key: results[c.key]["draws"] for c in CASES if c.module == "conv_groups"}
    assert draws["conv2d_backward_input_programs:x=9x7x5x6-k=5x5x6x12-s2-same"] == 2
    assert draws["conv2d_backward_kernel_programs:x=9x7x5x6-k=5x5x6x12-s2-same"] == 2
    assert draws["conv2d_backward_kernel_programs:x=9x6x6x1-k=6x6x1x6-s1-same"] == 1


def test_each_optimizer_update_is_one_draw_writing_every_target(results):
    outputs = {c.op: results[c.key]["outputs"] for c in CASES if c.module == "optimizers"}
    assert outputs == {"sgd_update": 1, "momentum_update": 2, "adam_update": 3}


def test_backward_programs_read_only_what_they_need(results):
    """Linear layers read no y; avg pool reads no x; the fused gradients read y."""
    by_key = {c.key: results[c.key]["inputs"] for c in CASES}
    assert by_key["dense_backward_bias:x=5x12-k=12x8-linear"] == ["dy"]
    assert by_key["dense_backward_input:x=1x13-k=13x7-relu"] == ["dy", "y", "kernel"]
    assert by_key["avg_pool2d_backward:x=1x5x7x3-p2-s2-valid"] == ["dy"]
    assert by_key["max_pool2d_backward:x=1x5x7x3-p2-s2-valid"] == ["dy", "x"]
