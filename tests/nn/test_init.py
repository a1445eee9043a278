"""Initializers: fans, empirical limits and standard deviations, determinism, specs."""

import numpy as np
import pytest

from model_export.nn import init
from model_export.nn.init import compute_fans, get_initializer, initializer_config

RANDOM_NAMES = ["glorot_uniform", "glorot_normal", "he_uniform", "he_normal"]
# large enough that the empirical std is within ~1% of the target
SHAPES = {
    "dense-784x256": (784, 256),
    "conv-5x5x16x64": (5, 5, 16, 64),
}


@pytest.mark.parametrize(
    "shape, fans",
    [
        ((), (1, 1)),
        ((10,), (10, 10)),
        ((784, 128), (784, 128)),
        ((5, 5, 1, 32), (25, 800)),
        ((3, 3, 16, 32), (144, 288)),
    ],
    ids=["scalar", "bias-10", "dense-784x128", "conv-5x5x1x32", "conv-3x3x16x32"],
)
def test_compute_fans_dense_and_conv(shape, fans):
    assert compute_fans(shape) == fans


def _expected_scale(name: str, shape: tuple) -> float:
    """Variance sqrt(scale) is the target std; written out from the Keras definitions."""
    fan_in, fan_out = compute_fans(shape)
    if name.startswith("glorot"):
        return 2.0 / (fan_in + fan_out)
    return 2.0 / fan_in


@pytest.mark.parametrize("shape_id", SHAPES)
@pytest.mark.parametrize("name", ["glorot_uniform", "he_uniform"])
def test_uniform_initializers_limit_and_std(name, shape_id):
    shape = SHAPES[shape_id]
    kernel = getattr(init, name)(shape, np.random.default_rng(0))
    limit = np.sqrt(3.0 * _expected_scale(name, shape))
    if name == "glorot_uniform":
        fan_in, fan_out = compute_fans(shape)
        assert limit == pytest.approx(np.sqrt(6.0 / (fan_in + fan_out)))
    assert kernel.shape == shape and kernel.dtype == np.float32
    assert np.abs(kernel).max() <= limit
    assert np.abs(kernel).max() > 0.99 * limit  # the whole interval is used
    assert kernel.std() == pytest.approx(limit / np.sqrt(3.0), rel=0.02)
    assert abs(kernel.mean()) < 0.01 * limit


@pytest.mark.parametrize("shape_id", SHAPES)
@pytest.mark.parametrize("name", ["glorot_normal", "he_normal"])
def test_truncated_normal_initializers_std_and_truncation(name, shape_id):
    shape = SHAPES[shape_id]
    kernel = getattr(init, name)(shape, np.random.default_rng(0))
    target_std = np.sqrt(_expected_scale(name, shape))
    stddev_parameter = target_std / 0.87962566103423978
    assert kernel.shape == shape and kernel.dtype == np.float32
    # truncated at 2 standard deviations of the (scaled-up) normal
    assert np.abs(kernel).max() <= 2.0 * stddev_parameter * (1 + 1e-6)
    assert np.abs(kernel).max() > 1.95 * stddev_parameter
    # the 1/0.8796 factor makes the empirical std equal sqrt(scale)
    assert kernel.std() == pytest.approx(target_std, rel=0.02)
    assert abs(kernel.mean()) < 0.03 * target_std


@pytest.mark.parametrize("name", RANDOM_NAMES)
def test_random_initializers_are_deterministic_per_seed(name):
    fn = getattr(init, name)
    a = fn((3, 3, 2, 4), np.random.default_rng(7))
    b = fn((3, 3, 2, 4), np.random.default_rng(7))
    c = fn((3, 3, 2, 4), np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("name, value", [("zeros", 0.0), ("ones", 1.0)])
def test_constant_initializers(name, value):
    result = getattr(init, name)((2, 3), np.random.default_rng(0))
    assert result.dtype == np.float32 and result.shape == (2, 3)
    assert np.all(result == value)


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("glorot_uniform", init.glorot_uniform),
        ("he_normal", init.he_normal),
        ("GlorotNormal", init.glorot_normal),
        ({"class_name": "HeUniform", "config": {"seed": None}}, init.he_uniform),
        ({"class_name": "Zeros", "config": {}}, init.zeros),
        (init.ones, init.ones),
    ],
    ids=["snake-glorot_uniform", "snake-he_normal", "class-GlorotNormal", "dict-HeUniform", "dict-Zeros", "function"],
)
def test_get_initializer_resolves_specs(spec, expected):
    assert get_initializer(spec) is expected


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("glorot_uniform", {"class_name": "GlorotUniform", "config": {"seed": None}}),
        ("glorot_normal", {"class_name": "GlorotNormal", "config": {"seed": None}}),
        ("he_uniform", {"class_name": "HeUniform", "config": {"seed": None}}),
        ("he_normal", {"class_name": "HeNormal", "config": {"seed": None}}),
        ("zeros", {"class_name": "Zeros", "config": {}}),
        ("ones", {"class_name": "Ones", "config": {}}),
    ],
)
def test_initializer_config_is_keras_dict_and_round_trips(spec, expected):
    assert initializer_config(spec) == expected
    assert get_initializer(initializer_config(spec)) is get_initializer(spec)


@pytest.mark.parametrize(
    "spec, match",
    [
        ("glorot", r"Unknown initializer 'glorot'\. Expected one of: .*glorot_normal, glorot_uniform, he_normal"),
        ({"class_name": "Orthogonal", "config": {}}, r"Unknown initializer 'Orthogonal'\. Expected one of: .*HeUniform"),
        ({"config": {}}, r"expected a 'class_name' key"),
        (42, r"Unknown initializer 42\. Expected one of"),
    ],
    ids=["unknown-string", "unknown-class_name", "dict-without-class_name", "not-a-spec"],
)
def test_get_initializer_errors(spec, match):
    with pytest.raises(ValueError, match=match):
        get_initializer(spec)
    with pytest.raises(ValueError, match=match):
        initializer_config(spec)
