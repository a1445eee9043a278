"""max_pool2d_forward / avg_pool2d_forward: GLSL vs model_export numpy on awkward shapes."""

from __future__ import annotations

import numpy as np
import pytest

from model_export.nn.pool import avg_pool2d_forward as np_avg_pool2d
from model_export.nn.pool import max_pool2d_forward as np_max_pool2d
from tests.ops.parity import Case, check_case, run_cases, shape_id

pytestmark = pytest.mark.browser

# (x shape, pool_size, strides, padding)
GRID = [
    ((1, 5, 7, 3), (2, 2), (2, 2), "valid"),
    ((1, 5, 7, 3), (2, 2), (2, 2), "same"),   # odd sizes: the last window hangs over
    ((3, 11, 28, 5), (3, 3), (2, 2), "same"),
    ((3, 11, 28, 5), (3, 3), (2, 2), "valid"),
    ((1, 5, 7, 1), (3, 3), (1, 1), "same"),   # padded cells on every border
    ((2, 28, 28, 6), (2, 2), (2, 2), "valid"),
    ((2, 9, 10, 3), (2, 3), (1, 2), "valid"),  # non-square window, unequal strides
    ((1, 7, 7, 2), (5, 5), (3, 3), "same"),   # window larger than stride, stride 3 on 7
    ((37, 12, 12, 3), (2, 2), (2, 2), "valid"),  # flat sizes > texture row
    ((1, 8200, 3, 5), (2, 2), (2, 2), "same"),   # too tall for one image row per texture row
]


def _case(kind: str, x_shape, pool_size, strides, padding, ties: bool = False) -> Case:
    rng = np.random.default_rng(sum(x_shape) + pool_size[0] * 5 + strides[1])
    if ties:
        x = rng.integers(-2, 3, x_shape).astype(np.float32)  # many equal maxima
    else:
        x = rng.standard_normal(x_shape).astype(np.float32)
    reference = np_max_pool2d if kind == "max" else np_avg_pool2d

    def ref(x, reference=reference):
        return reference(x, pool_size, strides, padding)

    case_id = (f"x={shape_id(x_shape)}-p={pool_size[0]}x{pool_size[1]}-"
               f"s{strides[0]}x{strides[1]}-{padding}" + ("-ties" if ties else ""))
    attrs = {"pool_size": list(pool_size), "strides": list(strides), "padding": padding}
    return Case(case_id, "pool", f"{kind}_pool2d_forward", {"x": x}, ref, attrs)


MAX_CASES = [_case("max", *params) for params in GRID] + [
    _case("max", (2, 6, 7, 3), (3, 3), (2, 2), "same", ties=True)]
AVG_CASES = [_case("avg", *params) for params in GRID]


@pytest.fixture(scope="module")
def results(pyodide_page):
    return run_cases(pyodide_page, MAX_CASES + AVG_CASES)


@pytest.mark.parametrize("case", MAX_CASES, ids=[c.id for c in MAX_CASES])
def test_max_pool2d_forward(case, results):
    check_case(case, results)


@pytest.mark.parametrize("case", AVG_CASES, ids=[c.id for c in AVG_CASES])
def test_avg_pool2d_forward(case, results):
    check_case(case, results)
