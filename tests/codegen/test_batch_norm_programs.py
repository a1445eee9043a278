"""The GLSL builders of BatchNormalization fine-tuning (ops/channel_affine.py): which
tensors each reads, and the refusals of shapes they cannot address. What they compute is
checked in the page against a Keras step (tests/ops/test_batch_norm_fine_tuning.py)."""

from __future__ import annotations

import pytest

from webgl_backend.errors import ShapeError
from webgl_backend.ops.channel_affine import (
    batch_norm_backward_beta,
    batch_norm_backward_gamma,
    batch_norm_coefficients,
    batch_norm_fold_bias,
    channel_scale,
    row_scale,
)


def test_coefficients_read_only_the_weights_the_layer_has():
    assert batch_norm_coefficients(6, 1e-3, "scale").inputs == ("gamma", "variance")
    assert batch_norm_coefficients(6, 1e-3, "shift").inputs == (
        "gamma", "beta", "mean", "variance")
    no_gamma = batch_norm_coefficients(5, 0.01, "shift", gamma=False)
    assert no_gamma.inputs == ("beta", "mean", "variance")
    assert "vec4(1.0) / sqrt(variance_at(c4) + 0.01)" in no_gamma.source
    no_beta = batch_norm_coefficients(5, 0.01, "shift", beta=False)
    assert "(vec4(0.0) - mean_at(c4) * scale)" in no_beta.source
    assert "lane_mask(4 * c4, 5)" in no_beta.source  # padded lanes written 0


def test_gradients_and_refolding_programs_have_the_shapes_of_their_tensors():
    gamma = batch_norm_backward_gamma((8, 5, 5, 6), 1e-3)
    assert gamma.inputs == ("dy", "x", "mean", "variance") and gamma.output_shape == (6,)
    assert "row < 200" in gamma.source
    assert batch_norm_backward_beta((8, 12)).output_shape == (12,)
    scale = channel_scale((3, 3, 4, 6))  # a conv kernel's output channels
    assert scale.inputs == ("x", "scale") and "scale_at(o.w)" in scale.source
    rows = row_scale((12, 10))
    assert rows.inputs == ("x", "scale") and "scale_at(o.x / 4)[o.x % 4]" in rows.source
    assert batch_norm_fold_bias(10).inputs == ("bias", "scale", "shift")


def test_shapes_the_builders_cannot_address_are_refused_by_name():
    with pytest.raises(ShapeError, match=r"row_scale: x must be \(rows, c\)"):
        row_scale((2, 3, 4, 5))
    with pytest.raises(ShapeError, match=r"channel_scale: x must be \(n, c\) or \(n, h, w, c\)"):
        channel_scale((7,))
    with pytest.raises(ShapeError, match="batch_norm_scale: epsilon must be > 0, got 0"):
        batch_norm_coefficients(4, 0.0, "scale")
    with pytest.raises(ValueError, match="output must be 'scale' or 'shift', got 'mean'"):
        batch_norm_coefficients(4, 1e-3, "mean")
