"""Backward programs of global pooling, ZeroPadding2D and the Keras ReLU/ELU layers in the
page vs model_export's numpy references, on awkward shapes (odd channel counts, batch 1,
non-square), in one round trip."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from model_export.nn.activation_layers import relu_layer_backward
from model_export.nn.activations import elu_backward, elu_forward
from model_export.nn.global_pool import global_avg_pool2d_backward, global_max_pool2d_backward
from model_export.nn.padding import zero_padding2d_backward
from tests.ops.backward_parity import GradCase, check_grad_case, run_grad_cases
from tests.ops.parity import shape_id

pytestmark = pytest.mark.browser

F32 = np.float32
MODULE = "keras_layers_backward"


def _rng(*salt) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(salt).encode()))


def _distinct(rng, shape) -> np.ndarray:
    """No ties within a (sample, channel): the first maximum is unambiguous."""
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.01).astype(F32)


def _cases() -> list[GradCase]:
    cases = []
    for shape in [(2, 3, 5, 6), (1, 4, 4, 3), (3, 2, 7, 9)]:
        rng = _rng("global", shape)
        n, h, w, c = shape
        x, dy = _distinct(rng, shape), rng.standard_normal((n, c)).astype(F32)
        cases.append(GradCase(shape_id(shape), MODULE, "global_pool2d_backward", "dx (avg)",
                              {"dy": dy, "x": x}, ("dy", "x"),
                              lambda dy=dy, shape=shape: global_avg_pool2d_backward(dy, shape),
                              {"mode": "avg"}))
        cases.append(GradCase(shape_id(shape) + "-max", MODULE, "global_pool2d_backward",
                              "dx (max)", {"dy": dy, "x": x}, ("dy", "x"),
                              lambda dy=dy, x=x: global_max_pool2d_backward(dy, x),
                              {"mode": "max"}))
    for shape, pads in [((2, 3, 4, 5), ((1, 2), (0, 3))), ((1, 2, 2, 8), ((2, 2), (1, 1)))]:
        (top, bottom), (left, right) = pads
        dy_shape = (shape[0], shape[1] + top + bottom, shape[2] + left + right, shape[3])
        dy = _rng("pad", shape).standard_normal(dy_shape).astype(F32)
        cases.append(GradCase(shape_id(shape), MODULE, "zero_padding2d_backward", "dx",
                              {"dy": dy}, ("dy",),
                              lambda dy=dy, pads=pads: zero_padding2d_backward(dy, pads),
                              {"pads": [list(p) for p in pads]}))
    relu_configs = [{"max_value": 0.6, "negative_slope": 0.0, "threshold": 0.0},
                    {"max_value": 1.5, "negative_slope": 0.1, "threshold": 0.25},
                    {"max_value": None, "negative_slope": 0.0, "threshold": 0.1}]
    for index, config in enumerate(relu_configs):
        for shape in [(3, 7), (2, 3, 3, 5)]:
            rng = _rng("relu", index, shape)
            x = rng.uniform(-2, 2, shape).astype(F32)
            dy = rng.standard_normal(shape).astype(F32)
            cases.append(GradCase(f"{shape_id(shape)}-{index}", MODULE,
                                  "keras_activation_backward", "dx", {"dy": dy, "x": x},
                                  ("dy", "x"),
                                  lambda dy=dy, x=x, c=config: relu_layer_backward(dy, x, **c),
                                  {"class_name": "ReLU", "config": config}))
    for shape in [(4, 6), (1, 2, 3, 5)]:
        rng = _rng("elu", shape)
        x = rng.uniform(-2, 2, shape).astype(F32)
        dy = rng.standard_normal(shape).astype(F32)
        cases.append(GradCase(shape_id(shape), MODULE, "keras_activation_backward", "dx (elu)",
                              {"dy": dy, "x": x}, ("dy", "x"),
                              lambda dy=dy, x=x: elu_backward(dy, x, elu_forward(x, 0.7), 0.7),
                              {"class_name": "ELU", "config": {"alpha": 0.7}}))
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def results(pyodide_page):
    return run_grad_cases(pyodide_page, CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.key)
def test_backward_matches_numpy(case, results):
    check_grad_case(case, results)
