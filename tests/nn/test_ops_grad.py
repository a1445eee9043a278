"""Gradient checks (float64 central differences) and loop-reference forward checks
for every numpy op in model_export.nn, on awkward shapes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from model_export.nn import activations as act
from model_export.nn.conv import ConvShapeError, conv2d_backward, conv2d_forward
from model_export.nn.dense import DenseShapeError, dense_backward, dense_forward
from model_export.nn.geometry import GeometryError, window_axis, window_geometry
from model_export.nn.losses import (
    LossShapeError,
    mean_squared_error_backward,
    mean_squared_error_forward,
    softmax_cross_entropy_backward,
    softmax_cross_entropy_forward,
)
from model_export.nn.pool import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)
from tests.nn.gradcheck import assert_gradients_close, check_gradients


def away_from_zero(rng: np.random.Generator, shape: tuple, margin: float = 0.05) -> np.ndarray:
    """Random values with |v| >= margin, so +-1e-6 steps never cross a kink at 0."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(margin, 1.5, size=shape)


def distinct(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """Values at least 1e-2 apart (no max-pool ties, even after a 1e-6 step)."""
    return rng.permutation(np.arange(int(np.prod(shape)), dtype=np.float64)).reshape(shape) * 1e-2


# ---------------------------------------------------------------- geometry

@pytest.mark.parametrize(
    "size, k, stride, padding, expected",
    [
        (28, 5, 2, "same", (14, 1, 2)),
        (14, 4, 2, "same", (7, 1, 1)),
        (7, 2, 2, "valid", (3, 0, 0)),
        (7, 2, 2, "same", (4, 0, 1)),
        (28, 6, 1, "same", (28, 2, 3)),
        (5, 3, 2, "same", (3, 1, 1)),
        (5, 1, 3, "same", (2, 0, 0)),
        (28, 5, 1, "valid", (24, 0, 0)),
        (11, 5, 3, "valid", (3, 0, 0)),
    ],
    ids=lambda v: str(v),
)
def test_window_axis_matches_tf_sizes_and_pads(size, k, stride, padding, expected):
    axis = window_axis(size, k, stride, padding)
    assert (axis.out, axis.pad_before, axis.pad_after) == expected


def test_window_geometry_combines_both_axes():
    g = window_geometry((7, 28), (2, 5), (2, 2), "same")
    assert (g.oh, g.ow, g.pad_top, g.pad_bottom, g.pad_left, g.pad_right) == (4, 14, 0, 1, 1, 2)


def test_window_geometry_rejects_bad_padding_and_oversized_valid_window():
    with pytest.raises(GeometryError, match="Unknown padding 'full'"):
        window_axis(5, 3, 1, "full")
    with pytest.raises(GeometryError, match="size 6 does not fit an input of size 5"):
        window_axis(5, 6, 1, "valid")


# ---------------------------------------------------------------- dense

@pytest.mark.parametrize("n, n_in, n_out", [(1, 3, 2), (5, 7, 4)], ids=["n1-3to2", "n5-7to4"])
def test_dense_gradients(n, n_in, n_out):
    rng = np.random.default_rng(1)
    inputs = {"x": rng.standard_normal((n, n_in)), "kernel": rng.standard_normal((n_in, n_out)),
              "bias": rng.standard_normal(n_out)}

    def backward(dy):
        dx, dkernel, dbias = dense_backward(dy, inputs["x"], inputs["kernel"])
        return {"x": dx, "kernel": dkernel, "bias": dbias}

    check_gradients(dense_forward, backward, inputs)


def test_dense_rejects_mismatched_shapes():
    with pytest.raises(DenseShapeError, match=r"got x \(2, 3\), kernel \(4, 5\)"):
        dense_forward(np.zeros((2, 3)), np.zeros((4, 5)))


# ---------------------------------------------------------------- conv2d

def conv2d_loop_reference(x, kernel, bias, strides, padding):
    """Obviously-correct conv: one output pixel at a time."""
    n, h, w, cin = x.shape
    kh, kw, _, cout = kernel.shape
    g = window_geometry((h, w), (kh, kw), strides, padding)
    xp = np.pad(x, ((0, 0), (g.pad_top, g.pad_bottom), (g.pad_left, g.pad_right), (0, 0)))
    y = np.zeros((n, g.oh, g.ow, cout))
    for b in range(n):
        for i in range(g.oh):
            for j in range(g.ow):
                top, left = i * strides[0], j * strides[1]
                window = xp[b, top:top + kh, left:left + kw]
                for c in range(cout):
                    y[b, i, j, c] = np.sum(window * kernel[..., c]) + bias[c]
    return y


CONV_CASES = [
    # (x shape, kernel shape, strides, padding)
    ((1, 5, 7, 1), (3, 3, 1, 2), (1, 1), "same"),
    ((2, 5, 7, 3), (3, 3, 3, 4), (2, 2), "same"),
    ((3, 7, 5, 3), (2, 2, 3, 2), (2, 2), "valid"),
    ((1, 5, 7, 3), (1, 1, 3, 2), (2, 2), "same"),
    ((2, 11, 8, 1), (5, 5, 1, 3), (2, 2), "same"),
    ((1, 9, 7, 1), (6, 6, 1, 2), (1, 1), "same"),
    ((2, 7, 9, 3), (6, 6, 3, 2), (2, 2), "valid"),
    ((1, 5, 7, 2), (2, 3, 2, 2), (2, 3), "same"),
    ((1, 5, 5, 1), (1, 1, 1, 2), (3, 3), "valid"),
    ((3, 6, 6, 3), (5, 5, 3, 2), (1, 1), "valid"),
    # One channel, wide rows: tiles of several output pixels (`conv_tiles.choose_tile`).
    ((2, 6, 13, 1), (2, 2, 1, 3), (1, 1), "valid"),
    ((1, 7, 15, 1), (3, 2, 1, 2), (2, 1), "same"),
]


def conv_id(case) -> str:
    x, k, s, p = case
    stride = f"s{s[0]}" if s[0] == s[1] else f"s{s[0]}x{s[1]}"
    return f"x={'x'.join(map(str, x))}-k={'x'.join(map(str, k))}-{stride}-{p}"


@pytest.mark.parametrize("case", CONV_CASES, ids=[conv_id(c) for c in CONV_CASES])
def test_conv2d_forward_matches_loop_reference(case):
    x_shape, k_shape, strides, padding = case
    rng = np.random.default_rng(2)
    x, kernel = rng.standard_normal(x_shape), rng.standard_normal(k_shape)
    bias = rng.standard_normal(k_shape[3])
    y = conv2d_forward(x, kernel, bias, strides, padding)
    np.testing.assert_allclose(y, conv2d_loop_reference(x, kernel, bias, strides, padding),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CONV_CASES, ids=[conv_id(c) for c in CONV_CASES])
def test_conv2d_gradients(case):
    x_shape, k_shape, strides, padding = case
    rng = np.random.default_rng(3)
    inputs = {"x": rng.standard_normal(x_shape), "kernel": rng.standard_normal(k_shape),
              "bias": rng.standard_normal(k_shape[3])}

    def forward(x, kernel, bias):
        return conv2d_forward(x, kernel, bias, strides, padding)

    def backward(dy):
        dx, dkernel, dbias = conv2d_backward(dy, inputs["x"], inputs["kernel"], strides, padding)
        return {"x": dx, "kernel": dkernel, "bias": dbias}

    check_gradients(forward, backward, inputs)


TILED_CASES = [
    # (x shape, kernel shape, strides, padding, tile): output 4x4 (or 4x2) cut every way
    ((2, 8, 8, 3), (3, 3, 3, 4), (2, 2), "same", tile) for tile in [(1, 1), (2, 2), (1, 4),
                                                                    (4, 1), (2, 4), (4, 4)]
] + [
    ((1, 6, 9, 2), (3, 2, 2, 3), (1, 2), "valid", (2, 2)),
    ((2, 9, 9, 1), (2, 2, 1, 2), (3, 3), "valid", (3, 3)),  # stride > kernel
]


@pytest.mark.parametrize("case", TILED_CASES,
                         ids=[f"{conv_id(c[:4])}-tile{c[4][0]}x{c[4][1]}" for c in TILED_CASES])
def test_conv2d_every_tile_shape_matches_reference_and_gradients(case, monkeypatch):
    x_shape, k_shape, strides, padding, tile = case
    monkeypatch.setattr("model_export.nn.conv.choose_tile", lambda *args: tile)
    rng = np.random.default_rng(5)
    inputs = {"x": rng.standard_normal(x_shape), "kernel": rng.standard_normal(k_shape),
              "bias": rng.standard_normal(k_shape[3])}
    np.testing.assert_allclose(conv2d_forward(inputs["x"], inputs["kernel"], inputs["bias"],
                                              strides, padding),
                               conv2d_loop_reference(inputs["x"], inputs["kernel"],
                                                     inputs["bias"], strides, padding),
                               rtol=1e-12, atol=1e-12)

    def forward(x, kernel, bias):
        return conv2d_forward(x, kernel, bias, strides, padding)

    def backward(dy):
        dx, dkernel, dbias = conv2d_backward(dy, inputs["x"], inputs["kernel"], strides, padding)
        return {"x": dx, "kernel": dkernel, "bias": dbias}

    check_gradients(forward, backward, inputs)


@pytest.mark.parametrize("cin", [1, 3], ids=["cin1", "cin3"])
def test_conv2d_keeps_float32(cin):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 7, 5, cin), dtype=np.float32)
    kernel = rng.standard_normal((3, 3, cin, 4), dtype=np.float32)
    bias = np.ones(4, np.float32)
    y = conv2d_forward(x, kernel, bias, (2, 2), "same")
    grads = conv2d_backward(np.ones_like(y), x, kernel, (2, 2), "same")
    assert y.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
    np.testing.assert_allclose(
        y, conv2d_loop_reference(x.astype(np.float64), kernel.astype(np.float64),
                                 bias.astype(np.float64), (2, 2), "same"), rtol=1e-5, atol=1e-5)


def test_conv2d_rejects_channel_mismatch():
    with pytest.raises(ConvShapeError, match=r"input has 3 channels but kernel expects cin=1 "
                                             r"\(x \(1, 28, 28, 3\), kernel \(3, 3, 1, 8\)\)"):
        conv2d_forward(np.zeros((1, 28, 28, 3)), np.zeros((3, 3, 1, 8)))


# ---------------------------------------------------------------- pooling

def pool_loop_reference(x, pool_size, strides, padding, reduce):
    """One window at a time; `same` pads are excluded (not counted, never the max)."""
    n, h, w, c = x.shape
    g = window_geometry((h, w), pool_size, strides, padding)
    y = np.zeros((n, g.oh, g.ow, c))
    for i in range(g.oh):
        for j in range(g.ow):
            top, left = i * strides[0] - g.pad_top, j * strides[1] - g.pad_left
            window = x[:, max(top, 0):top + pool_size[0], max(left, 0):left + pool_size[1], :]
            y[:, i, j, :] = reduce(window, axis=(1, 2))
    return y


POOL_CASES = [
    # (x shape, pool_size, strides, padding)
    ((1, 5, 7, 2), (2, 2), (2, 2), "valid"),
    ((3, 5, 7, 2), (2, 2), (2, 2), "same"),
    ((2, 7, 5, 1), (3, 3), (2, 2), "same"),
    ((1, 5, 7, 3), (2, 3), (1, 2), "same"),
    ((2, 6, 7, 1), (3, 3), (3, 3), "valid"),
]


def pool_id(case) -> str:
    x, p, s, pad = case
    return f"x={'x'.join(map(str, x))}-p={p[0]}x{p[1]}-s{s[0]}x{s[1]}-{pad}"


POOLS = {"max": (max_pool2d_forward, max_pool2d_backward, np.max),
         "avg": (avg_pool2d_forward, avg_pool2d_backward, np.mean)}


@pytest.mark.parametrize("kind", sorted(POOLS))
@pytest.mark.parametrize("case", POOL_CASES, ids=[pool_id(c) for c in POOL_CASES])
def test_pool_forward_matches_loop_reference(case, kind):
    x_shape, pool_size, strides, padding = case
    forward, _, reduce = POOLS[kind]
    x = np.random.default_rng(5).standard_normal(x_shape)
    np.testing.assert_allclose(forward(x, pool_size, strides, padding),
                               pool_loop_reference(x, pool_size, strides, padding, reduce),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", sorted(POOLS))
@pytest.mark.parametrize("case", POOL_CASES, ids=[pool_id(c) for c in POOL_CASES])
def test_pool_gradients(case, kind):
    x_shape, pool_size, strides, padding = case
    forward, backward, _ = POOLS[kind]
    inputs = {"x": distinct(np.random.default_rng(6), x_shape)}
    check_gradients(lambda x: forward(x, pool_size, strides, padding),
                    lambda dy: {"x": backward(dy, inputs["x"], pool_size, strides, padding)},
                    inputs)


def test_max_pool_tie_gives_gradient_to_first_maximum_in_row_major_order():
    x = np.array([[1.0, 3.0], [3.0, 3.0]]).reshape(1, 2, 2, 1)
    dx = max_pool2d_backward(np.ones((1, 1, 1, 1)), x, (2, 2), (2, 2), "valid")
    np.testing.assert_array_equal(dx.reshape(2, 2), [[0.0, 1.0], [0.0, 0.0]])


def test_avg_pool_same_divides_by_valid_cells_only():
    x = np.ones((1, 3, 3, 1))
    y = avg_pool2d_forward(x, (2, 2), (2, 2), "same")
    np.testing.assert_array_equal(y, np.ones((1, 2, 2, 1)))


# ---------------------------------------------------------------- activations

ELEMENTWISE = ["linear", "relu", "leaky_relu", "elu", "sigmoid", "tanh"]


@pytest.mark.parametrize("name", ELEMENTWISE + ["softmax"])
def test_activation_gradients(name):
    forward, backward, _ = act.ACTIVATIONS[name]
    inputs = {"x": away_from_zero(np.random.default_rng(7), (3, 5))}
    check_gradients(lambda x: forward(x),
                    lambda dy: {"x": backward(dy, inputs["x"], forward(inputs["x"]))}, inputs)


@pytest.mark.parametrize("name, alpha", [("leaky_relu", 0.1), ("elu", 0.5)])
def test_parameterised_activation_gradients(name, alpha):
    forward, backward, takes_alpha = act.ACTIVATIONS[name]
    assert takes_alpha
    inputs = {"x": away_from_zero(np.random.default_rng(8), (2, 7))}
    check_gradients(
        lambda x: forward(x, alpha),
        lambda dy: {"x": backward(dy, inputs["x"], forward(inputs["x"], alpha), alpha)}, inputs)


def test_activation_values_follow_keras_defaults():
    x = np.array([-2.0, -0.5, 0.0, 1.5])
    np.testing.assert_allclose(act.leaky_relu_forward(x), [-0.6, -0.15, 0.0, 1.5])
    np.testing.assert_allclose(act.elu_forward(x), [np.expm1(-2.0), np.expm1(-0.5), 0.0, 1.5])
    np.testing.assert_allclose(act.relu_forward(x), [0.0, 0.0, 0.0, 1.5])


def test_sigmoid_and_softmax_are_stable_for_huge_inputs():
    x = np.array([[-1e4, 0.0, 1e4]], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = act.sigmoid_forward(x)
        p = act.softmax_forward(x)
    np.testing.assert_allclose(s, [[0.0, 0.5, 1.0]])
    np.testing.assert_allclose(p, [[0.0, 0.0, 1.0]])
    assert s.dtype == np.float32 and p.dtype == np.float32


def test_activation_registry_uses_keras_names_and_rejects_unknown():
    assert set(act.ACTIVATIONS) == {"linear", "relu", "elu", "sigmoid", "tanh", "softmax",
                                    "leaky_relu"}
    message = r"Unknown activation 'relux'\. Expected one of: elu, leaky_relu, linear"
    with pytest.raises(act.UnknownActivationError, match=message):
        act.get_activation("relux")


# ---------------------------------------------------------------- losses

@pytest.mark.parametrize("n", [1, 5], ids=["n1", "n5"])
def test_softmax_cross_entropy_gradient(n):
    rng = np.random.default_rng(9)
    labels = rng.integers(0, 4, size=n)
    inputs = {"logits": rng.standard_normal((n, 4)) * 3}

    def backward(dy):
        _, probs = softmax_cross_entropy_forward(inputs["logits"], labels)
        return {"logits": softmax_cross_entropy_backward(probs, labels) * dy}

    check_gradients(lambda logits: np.float64(softmax_cross_entropy_forward(logits, labels)[0]),
                    backward, inputs)


def test_softmax_cross_entropy_matches_minus_log_softmax():
    rng = np.random.default_rng(10)
    logits, labels = rng.standard_normal((6, 10)), rng.integers(0, 10, size=6)
    loss, probs = softmax_cross_entropy_forward(logits, labels)
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log(softmax[np.arange(6), labels])), rel=1e-12)
    np.testing.assert_allclose(probs, softmax, rtol=1e-12)


def test_softmax_cross_entropy_is_stable_for_logits_of_1e4():
    logits = np.array([[1e4, 0.0, -1e4], [1e4, 0.0, -1e4]], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, probs = softmax_cross_entropy_forward(logits, np.array([0, 1]))
    assert loss == pytest.approx(0.5 * 1e4)  # 0 for the right label, 1e4 for the wrong one
    assert np.isfinite(probs).all()
    dlogits = softmax_cross_entropy_backward(probs, np.array([0, 1]))
    np.testing.assert_allclose(dlogits, [[0.0, 0.0, 0.0], [0.5, -0.5, 0.0]], atol=1e-7)


def test_softmax_cross_entropy_rejects_bad_labels():
    with pytest.raises(LossShapeError, match=r"labels must lie in \[0, 2\], got min 0, max 3"):
        softmax_cross_entropy_forward(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(LossShapeError, match=r"labels must be integers of shape \(2,\)"):
        softmax_cross_entropy_forward(np.zeros((2, 3)), np.array([0.0, 1.0]))


def test_mean_squared_error_value_and_gradient():
    rng = np.random.default_rng(11)
    target = rng.standard_normal((3, 4))
    inputs = {"y": rng.standard_normal((3, 4))}
    assert mean_squared_error_forward(inputs["y"], target) == pytest.approx(
        np.mean((inputs["y"] - target) ** 2))
    check_gradients(lambda y: np.float64(mean_squared_error_forward(y, target)),
                    lambda dy: {"y": mean_squared_error_backward(inputs["y"], target) * dy}, inputs)


# ---------------------------------------------------------------- the checker itself

def test_gradcheck_failure_names_tensor_shape_and_first_mismatch():
    analytic = np.array([[1.0, 2.0], [3.0, 4.0]])
    numeric = analytic.copy()
    numeric[1, 0] = 3.5
    with pytest.raises(AssertionError, match=r"gradient of kernel \(2, 2\).*first mismatch at "
                                             r"\(1, 0\): analytic 3\.0, numeric 3\.5"):
        assert_gradients_close("kernel", analytic, numeric)
