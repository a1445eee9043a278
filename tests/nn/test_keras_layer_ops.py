"""Gradient checks (float64 central differences) and loop-reference forwards for the numpy
references of BatchNormalization, global pooling, the ReLU/Softmax/ELU layer classes,
ZeroPadding2D and Reshape."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from model_export.nn.activation_layers import (
    relu_layer_backward,
    relu_layer_forward,
    softmax_axis_backward,
    softmax_axis_forward,
)
from model_export.nn.activations import elu_backward, elu_forward
from model_export.nn.batchnorm import (
    BatchNormShapeError,
    batch_norm_inference_backward,
    batch_norm_inference_forward,
    batch_norm_train_backward,
    batch_norm_train_forward,
    inference_affine,
    update_moving,
)
from model_export.nn.global_pool import (
    GlobalPoolShapeError,
    global_avg_pool2d_backward,
    global_avg_pool2d_forward,
    global_max_pool2d_backward,
    global_max_pool2d_forward,
)
from model_export.nn.padding import (
    PaddingError,
    normalize_pads,
    zero_padding2d_backward,
    zero_padding2d_forward,
)
from model_export.nn.reshape import ReshapeError, reshape_backward, reshape_forward, resolve_target
from tests.nn.gradcheck import check_gradients


def rng_for(case: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(case.encode()))


def away_from(rng: np.random.Generator, shape: tuple, kinks: tuple[float, ...],
              margin: float = 0.02) -> np.ndarray:
    """Uniform values in [-2, 2] at least `margin` from every kink (steps never cross one)."""
    x = rng.uniform(-2.0, 2.0, shape)
    for kink in kinks:
        near = np.abs(x - kink) < margin
        x[near] = kink + np.sign(x[near] - kink + 1e-12) * margin * 2
    return x


# ---------------------------------------------------------------- batch normalization

BN_SHAPES = [(5, 3), (2, 3, 4, 5), (1, 2, 2, 1)]


@pytest.mark.parametrize("shape", BN_SHAPES, ids=str)
@pytest.mark.parametrize("center, scale", [(True, True), (False, True), (True, False)])
def test_batch_norm_training_gradients(shape, center, scale):
    rng = np.random.default_rng(3)
    c = shape[-1]
    inputs = {"x": rng.standard_normal(shape) * 2 + 1}
    if scale:
        inputs["gamma"] = rng.uniform(0.5, 2.0, c)
    if center:
        inputs["beta"] = rng.standard_normal(c)

    def forward(x, gamma=None, beta=None):
        return batch_norm_train_forward(x, gamma, beta, epsilon=0.01)[0]

    def backward(dy):
        _, stats = batch_norm_train_forward(inputs["x"], inputs.get("gamma"),
                                            inputs.get("beta"), epsilon=0.01)
        dx, dgamma, dbeta = batch_norm_train_backward(dy, inputs.get("gamma"), stats, 0.01)
        grads = {"x": dx}
        if scale:
            grads["gamma"] = dgamma
        if center:
            grads["beta"] = dbeta
        return grads

    check_gradients(forward, backward, inputs)


def test_batch_norm_training_normalises_with_the_biased_batch_variance():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 3, 2, 4)) * 3 + 2
    gamma, beta = rng.uniform(0.5, 2, 4), rng.standard_normal(4)
    y, stats = batch_norm_train_forward(x, gamma, beta, epsilon=1e-3)
    for ch in range(4):
        values = x[..., ch].ravel()
        mean, var = values.mean(), ((values - values.mean()) ** 2).sum() / values.size
        np.testing.assert_allclose(stats.mean[ch], mean, rtol=1e-12)
        np.testing.assert_allclose(stats.variance[ch], var, rtol=1e-12)
        expected = (x[..., ch] - mean) / np.sqrt(var + 1e-3) * gamma[ch] + beta[ch]
        np.testing.assert_allclose(y[..., ch], expected, rtol=1e-12, atol=1e-12)


def test_moving_averages_move_by_one_minus_momentum():
    moving = np.array([1.0, 2.0], np.float32)
    batch = np.array([3.0, 0.0], np.float32)
    np.testing.assert_allclose(update_moving(moving, batch, 0.9), [1.2, 1.8], rtol=1e-6)
    assert update_moving(moving, batch).dtype == np.float32


@pytest.mark.parametrize("shape", BN_SHAPES, ids=str)
def test_batch_norm_inference_gradients_with_frozen_statistics(shape):
    rng = np.random.default_rng(5)
    c = shape[-1]
    mean, var = rng.standard_normal(c), rng.uniform(0.2, 3.0, c)
    inputs = {"x": rng.standard_normal(shape), "gamma": rng.uniform(0.5, 2, c),
              "beta": rng.standard_normal(c)}

    def forward(x, gamma, beta):
        return batch_norm_inference_forward(x, gamma, beta, mean, var, 0.001)

    def backward(dy):
        dx, dgamma, dbeta = batch_norm_inference_backward(dy, inputs["x"], inputs["gamma"],
                                                          mean, var, 0.001)
        return {"x": dx, "gamma": dgamma, "beta": dbeta}

    check_gradients(forward, backward, inputs)


def test_batch_norm_inference_is_the_affine_map_a_loader_folds():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 5))
    gamma, beta = rng.uniform(0.5, 2, 5), rng.standard_normal(5)
    mean, var = rng.standard_normal(5), rng.uniform(0.5, 2, 5)
    expected = (x - mean) / np.sqrt(var + 0.001) * gamma + beta
    np.testing.assert_allclose(batch_norm_inference_forward(x, gamma, beta, mean, var),
                               expected, rtol=1e-12)
    a, b = inference_affine(None, None, mean, var)
    np.testing.assert_allclose(x * a + b, (x - mean) / np.sqrt(var + 0.001), rtol=1e-12)


def test_batch_norm_refuses_statistics_of_the_wrong_length():
    with pytest.raises(BatchNormShapeError, match=r"moving_mean must have shape \(4,\)"):
        batch_norm_inference_forward(np.zeros((2, 4)), None, None, np.zeros(3), np.ones(4))


# ---------------------------------------------------------------- global pooling

GLOBAL_SHAPES = [(2, 3, 5, 4), (1, 1, 1, 3), (3, 4, 2, 1)]


@pytest.mark.parametrize("shape", GLOBAL_SHAPES, ids=str)
def test_global_average_pooling(shape):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape)
    loops = np.array([[x[i, :, :, ch].sum() / (shape[1] * shape[2]) for ch in range(shape[3])]
                      for i in range(shape[0])])
    np.testing.assert_allclose(global_avg_pool2d_forward(x), loops, rtol=1e-12)
    check_gradients(global_avg_pool2d_forward,
                    lambda dy: {"x": global_avg_pool2d_backward(dy, shape)}, {"x": x})


@pytest.mark.parametrize("shape", GLOBAL_SHAPES, ids=str)
def test_global_max_pooling(shape):
    rng = np.random.default_rng(8)
    x = rng.permutation(np.arange(np.prod(shape), dtype=np.float64)).reshape(shape) * 1e-2
    loops = np.array([[max(x[i, :, :, ch].ravel()) for ch in range(shape[3])]
                      for i in range(shape[0])])
    np.testing.assert_array_equal(global_max_pool2d_forward(x), loops)
    check_gradients(global_max_pool2d_forward,
                    lambda dy: {"x": global_max_pool2d_backward(dy, x)}, {"x": x})


def test_global_max_pooling_gives_a_tie_to_the_first_maximum():
    x = np.zeros((1, 2, 2, 1))
    x[0, 0, 1, 0] = x[0, 1, 0, 0] = 5.0
    dx = global_max_pool2d_backward(np.ones((1, 1)), x)
    assert dx[0, :, :, 0].tolist() == [[0.0, 1.0], [0.0, 0.0]]


def test_global_pooling_refuses_a_flat_input():
    with pytest.raises(GlobalPoolShapeError, match=r"got shape \(2, 3\)"):
        global_avg_pool2d_forward(np.zeros((2, 3)))


# ---------------------------------------------------------------- ReLU, Softmax, ELU layers

RELU_CASES = [  # max_value, negative_slope, threshold
    (None, 0.0, 0.0), (6.0, 0.0, 0.0), (0.6, 0.0, 0.0), (None, 0.2, 0.0),
    (1.5, 0.1, 0.25), (None, 0.0, 0.1), (0.5, 0.3, 1.0),
]


def relu_by_keras_formula(v: float, max_value, negative_slope, threshold) -> float:
    """tf-keras backend.relu, one value: relu above the threshold, clipped, minus the slope
    times relu(threshold - x)."""
    positive = v if v > threshold else 0.0
    if max_value is not None:
        positive = min(max(positive, 0.0), max_value)
    return positive - negative_slope * max(threshold - v, 0.0)


@pytest.mark.parametrize("max_value, negative_slope, threshold", RELU_CASES, ids=str)
def test_relu_layer(max_value, negative_slope, threshold):
    rng = rng_for(f"relu{max_value}{negative_slope}{threshold}")
    kinks = (threshold,) + (() if max_value is None else (max_value,))
    x = away_from(rng, (4, 3, 5), kinks)
    kwargs = dict(max_value=max_value, negative_slope=negative_slope, threshold=threshold)
    expected = np.vectorize(lambda v: relu_by_keras_formula(v, **kwargs))(x)
    np.testing.assert_allclose(relu_layer_forward(x, **kwargs), expected, rtol=1e-12)
    check_gradients(lambda x: relu_layer_forward(x, **kwargs),
                    lambda dy: {"x": relu_layer_backward(dy, x, **kwargs)}, {"x": x})


@pytest.mark.parametrize("shape, axis", [((3, 10), -1), ((2, 3, 4, 5), -1), ((2, 3, 4), 1)],
                         ids=str)
def test_softmax_layer(shape, axis):
    rng = np.random.default_rng(9)
    x = rng.standard_normal(shape) * 3
    y = softmax_axis_forward(x, axis)
    np.testing.assert_allclose(y.sum(axis=axis), 1.0, rtol=1e-12)
    np.testing.assert_allclose(y, np.exp(x) / np.exp(x).sum(axis=axis, keepdims=True),
                               rtol=1e-12)
    check_gradients(lambda x: softmax_axis_forward(x, axis),
                    lambda dy: {"x": softmax_axis_backward(dy, y, axis)}, {"x": x})


@pytest.mark.parametrize("alpha", [1.0, 0.7, 2.5])
def test_elu_layer(alpha):
    rng = np.random.default_rng(10)
    x = away_from(rng, (3, 7), (0.0,))
    expected = np.where(x > 0, x, alpha * (np.exp(x) - 1))
    y = elu_forward(x, alpha)
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    check_gradients(lambda x: elu_forward(x, alpha),
                    lambda dy: {"x": elu_backward(dy, x, y, alpha)}, {"x": x})


# ---------------------------------------------------------------- ZeroPadding2D

@pytest.mark.parametrize("padding, pads", [
    (1, ((1, 1), (1, 1))), ((2, 0), ((2, 2), (0, 0))), (((1, 2), (0, 3)), ((1, 2), (0, 3))),
    ([[0, 1], [2, 0]], ((0, 1), (2, 0))),
], ids=str)
def test_zero_padding(padding, pads):
    assert normalize_pads(padding) == pads
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 3, 4, 2))
    y = zero_padding2d_forward(x, pads)
    (top, bottom), (left, right) = pads
    assert y.shape == (2, 3 + top + bottom, 4 + left + right, 2)
    for i, j in np.ndindex(y.shape[1], y.shape[2]):
        inside = top <= i < top + 3 and left <= j < left + 4
        want = x[:, i - top, j - left, :] if inside else np.zeros((2, 2))
        np.testing.assert_array_equal(y[:, i, j, :], want)
    check_gradients(lambda x: zero_padding2d_forward(x, pads),
                    lambda dy: {"x": zero_padding2d_backward(dy, pads)}, {"x": x})


@pytest.mark.parametrize("padding", [-1, (1, 2, 3), ((1, -1), (0, 0)), "same", 1.5])
def test_zero_padding_refuses_bad_pads(padding):
    with pytest.raises(PaddingError, match="zero_padding2d"):
        normalize_pads(padding)


# ---------------------------------------------------------------- Reshape

@pytest.mark.parametrize("sample, target, resolved", [
    ((4, 4, 3), (48,), (48,)), ((48,), (4, 4, 3), (4, 4, 3)), ((2, 3, 4), (-1, 4), (6, 4)),
    ((10, 10, 1), (100,), (100,)),
], ids=str)
def test_reshape(sample, target, resolved):
    assert resolve_target(sample, target) == resolved
    rng = np.random.default_rng(12)
    x = rng.standard_normal((2, *sample))
    y = reshape_forward(x, target)
    assert y.shape == (2, *resolved)
    np.testing.assert_array_equal(y.ravel(), x.ravel())  # NHWC order kept
    check_gradients(lambda x: reshape_forward(x, target),
                    lambda dy: {"x": reshape_backward(dy, x.shape)}, {"x": x})


@pytest.mark.parametrize("target", [(5, 5), (-1, -1), (0, 48), (-1, 5)], ids=str)
def test_reshape_refuses_a_size_mismatch(target):
    with pytest.raises(ReshapeError, match="reshape"):
        resolve_target((4, 4, 3), target)
