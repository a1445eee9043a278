"""Standalone activation programs and softmax: GLSL vs model_export numpy."""

from __future__ import annotations

import numpy as np
import pytest

from model_export.nn import activations as act
from tests.ops.parity import Case, check_case, run_cases, shape_id

pytestmark = pytest.mark.browser


def _x(shape, scale: float, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def _cases() -> list[Case]:
    cases = []
    for shape, scale in (((1, 5, 7, 3), 2.0), ((3, 11, 28, 5), 30.0), ((1, 8200, 2, 3), 3.0)):
        sid = shape_id(shape)
        for op in ("relu", "elu", "sigmoid", "tanh"):
            cases.append(Case(f"{op}-x={sid}-scale{scale:g}", "activations", f"{op}_forward",
                              {"x": _x(shape, scale, len(cases))}, getattr(act, f"{op}_forward")))
        cases.append(Case(f"leaky_relu-x={sid}-alpha0.1", "activations", "leaky_relu_forward",
                          {"x": _x(shape, scale, 99)},
                          lambda x: act.leaky_relu_forward(x, 0.1), {"alpha": 0.1}))
    # Softmax: small rows, many rows (texture rows wrap), wide rows, huge logits (no overflow).
    for shape, scale in (((3, 10), 1.0), ((1029, 10), 5.0), ((2, 100), 1.0), ((4, 7), 80.0),
                         ((8193, 10), 3.0)):  # last: taller than MAX_TEXTURE_SIZE (fallback)
        cases.append(Case(f"softmax-x={shape_id(shape)}-scale{scale:g}", "softmax",
                          "softmax_forward", {"x": _x(shape, scale, 7)}, act.softmax_forward))
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def results(pyodide_page):
    return run_cases(pyodide_page, CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_activation_forward(case, results):
    check_case(case, results)
