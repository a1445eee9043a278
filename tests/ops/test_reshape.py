"""reshape_forward (repacking copy for a changed last axis): GLSL vs numpy reshape."""

from __future__ import annotations

import numpy as np
import pytest

from tests.ops.parity import Case, check_case, run_cases, shape_id

pytestmark = pytest.mark.browser

GRID = [
    ((1, 28, 28, 1), (1, 784)),      # Flatten of an MNIST image
    ((3, 5, 7, 3), (3, 105)),        # odd channels, odd batch
    ((2, 4, 4, 6), (2, 96)),         # 6 channels: 2 texels per pixel, half empty
    ((5, 9), (3, 15)),               # both last axes odd
    ((37, 12, 12, 5), (37, 720)),    # flat sizes past one texture row
    ((1, 8200, 1, 3), (8200, 3)),    # x too tall for the row layout: near-square fallback
]


def _case(x_shape, y_shape) -> Case:
    x = np.random.default_rng(sum(x_shape)).standard_normal(x_shape).astype(np.float32)
    return Case(f"x={shape_id(x_shape)}-y={shape_id(y_shape)}", "reshape", "reshape_forward",
                {"x": x}, lambda x, y_shape=y_shape: x.reshape(y_shape),
                {"y_shape": list(y_shape)})


CASES = [_case(*params) for params in GRID]


@pytest.fixture(scope="module")
def results(pyodide_page):
    return run_cases(pyodide_page, CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_reshape_forward(case, results):
    check_case(case, results)
