"""L1/L2 regularizers: loss values, gradient vs central differences, specs, errors."""

import numpy as np
import pytest

from model_export.nn.regularizers import L1L2, get_regularizer, l1, l2


def test_loss_values_by_hand():
    kernel = np.array([[1.0, -2.0], [0.5, 0.0]])
    # sum|w| = 3.5, sum w^2 = 5.25
    assert L1L2(l1=0.1).loss(kernel) == pytest.approx(0.35, rel=1e-12)
    assert L1L2(l2=0.01).loss(kernel) == pytest.approx(0.0525, rel=1e-12)
    assert L1L2(l1=0.1, l2=0.01).loss(kernel) == pytest.approx(0.4025, rel=1e-12)
    assert L1L2().loss(kernel) == 0.0
    assert isinstance(L1L2(0.1, 0.01).loss(kernel.astype(np.float32)), float)


def test_gradient_by_hand():
    kernel = np.array([1.0, -2.0, 0.0])
    np.testing.assert_allclose(L1L2(l1=0.1, l2=0.01).gradient(kernel), [0.1 + 0.02, -0.1 - 0.04, 0.0])


def _numerical_gradient(fn, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + h
        plus = fn(x)
        x[index] = saved - h
        minus = fn(x)
        x[index] = saved
        grad[index] = (plus - minus) / (2 * h)
    return grad


@pytest.mark.parametrize("shape", [(3, 4), (2, 2, 2, 3)], ids=["dense-3x4", "conv-2x2x2x3"])
@pytest.mark.parametrize("l1_value, l2_value", [(0.01, 0.0), (0.0, 0.02), (0.03, 0.05)], ids=["l1", "l2", "l1_l2"])
def test_gradient_matches_central_differences(shape, l1_value, l2_value):
    rng = np.random.default_rng(0)
    kernel = rng.standard_normal(shape)
    kernel += np.where(kernel >= 0, 0.1, -0.1)  # keep away from the L1 kink at 0
    regularizer = L1L2(l1_value, l2_value)
    analytic = regularizer.gradient(kernel)
    numeric = _numerical_gradient(regularizer.loss, kernel)
    scale = max(np.abs(analytic).max(), np.abs(numeric).max(), 1e-8)
    assert np.abs(analytic - numeric).max() / scale < 1e-6


def test_gradient_keeps_float32():
    kernel = np.ones((2, 3), dtype=np.float32)
    assert L1L2(0.1, 0.1).gradient(kernel).dtype == np.float32


def test_get_config_and_helpers():
    assert L1L2(0.1, 0.2).get_config() == {"class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.2}}
    assert l1() == L1L2(l1=0.01)
    assert l2(0.5) == L1L2(l2=0.5)


@pytest.mark.parametrize(
    "spec, expected",
    [
        (None, None),
        ("l1", L1L2(l1=0.01)),
        ("l2", L1L2(l2=0.01)),
        ("l1_l2", L1L2(l1=0.01, l2=0.01)),
        ({"class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.2}}, L1L2(0.1, 0.2)),
        ({"class_name": "L1", "config": {"l1": 0.3}}, L1L2(l1=0.3)),
        ({"class_name": "L2", "config": {"l2": 0.4}}, L1L2(l2=0.4)),
    ],
    ids=["none", "l1", "l2", "l1_l2", "dict-L1L2", "dict-L1", "dict-L2"],
)
def test_get_regularizer_resolves_specs(spec, expected):
    assert get_regularizer(spec) == expected


def test_get_regularizer_returns_instance_and_round_trips_config():
    regularizer = L1L2(0.1, 0.2)
    assert get_regularizer(regularizer) is regularizer
    assert get_regularizer(regularizer.get_config()) == regularizer


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: L1L2(l1=-0.1), r"`l1`.*non-negative.*Received l1=-0\.1"),
        (lambda: L1L2(l2=-2), r"`l2`.*non-negative.*Received l2=-2"),
        (lambda: L1L2(l1="a"), r"`l1`.*Received l1='a'"),
        (lambda: l1(-1.0), r"`l1`.*Received l1=-1\.0"),
        (lambda: l2(float("nan")), r"`l2`.*Received l2=nan"),
        (lambda: get_regularizer({"class_name": "L2", "config": {"l2": -0.5}}), r"`l2`.*Received l2=-0\.5"),
        (lambda: get_regularizer("l3"), r"Unknown regularizer 'l3'\. Expected one of: l1, l1_l2, l2"),
        (lambda: get_regularizer({"class_name": "OrthogonalRegularizer"}), r"Unknown regularizer class_name 'OrthogonalRegularizer'"),
        (lambda: get_regularizer({"class_name": "L1", "config": {"l2": 0.1}}), r"Regularizer L1: unexpected config keys \['l2'\]"),
        (lambda: get_regularizer(0.1), r"Invalid regularizer 0\.1 of type float"),
    ],
    ids=[
        "negative-l1", "negative-l2", "non-number", "helper-l1-negative", "helper-l2-nan",
        "dict-negative", "unknown-string", "unknown-class", "wrong-config-key", "wrong-type",
    ],
)
def test_regularizer_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()
