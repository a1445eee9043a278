"""GLSL helpers shared by the backward programs: lane masks and the `dz` accessors.

A layer y = f(z) with a fused activation hands its backward programs dy (the gradient
of its activated output) and y; they read dz = dy * f'(y) through `dz_at(...)` /
`dz_fetch(ivec2)`, so the activation gradient costs no draw and no texture. Every
activation here has its derivative as a function of y alone (relu, leaky_relu with
alpha > 0 and elu keep the sign of z; sigmoid y(1-y); tanh 1-y^2), matching
model_export/nn/activations.py `<name>_backward(dy, x, y)` term for term.

Tensors pack their last axis four values per texel; the lanes past the end of the
axis ("tails") are padding. Backward programs write zeros there (`lane_mask`) and mask
the tail of dz wherever they sum over the last axis, so padding never leaks into
real values.
"""

from __future__ import annotations

from webgl_backend.codegen import LANE_MASK, tail_mask
from webgl_backend.errors import ShapeError
from webgl_backend.ops.activations import activation_grad_snippet

def gradient_inputs(op: str, dy_shape: tuple[int, ...], y_shape: tuple[int, ...] | None,
                    activation: str | None) -> dict[str, tuple[int, ...]]:
    """{'dy': shape} plus {'y': shape} when the activation needs y; checks they agree."""
    activation = activation or "linear"
    inputs = {"dy": tuple(dy_shape)}
    if activation == "linear":
        return inputs
    if y_shape is None:
        raise ShapeError(f"{op}: activation {activation!r} needs y (the activated output); "
                         "got y_shape=None")
    if tuple(y_shape) != tuple(dy_shape):
        raise ShapeError(f"{op}: y {tuple(y_shape)} and dy {tuple(dy_shape)} must have the "
                         "same shape")
    inputs["y"] = tuple(y_shape)
    return inputs


def dz_accessors(rank: int, activation: str | None, alpha: float | None = None) -> str:
    """GLSL `dz_at(...)` (logical coordinates, last axis in texels) and `dz_fetch(ivec2)`
    (texel position; dy and y share a layout) for dy of this rank."""
    activation = activation or "linear"
    params = {4: ("int a, int b, int c, int d", "a, b, c, d"), 2: ("int a, int b", "a, b"),
              1: ("int a", "a")}.get(rank)
    if params is None:
        raise ShapeError(f"gradient: dy must be 1-, 2- or 4-D, got rank {rank}")
    declared, passed = params
    lines = [LANE_MASK, activation_grad_snippet(activation, alpha)]
    if activation == "linear":
        lines.append(f"vec4 dz_at({declared}) {{ return dy_at({passed}); }}")
        lines.append("vec4 dz_fetch(ivec2 p) { return dy_fetch(p); }")
    else:
        lines.append(f"vec4 dz_at({declared}) {{ "
                     f"return activation_grad(dy_at({passed}), y_at({passed})); }}")
        lines.append("vec4 dz_fetch(ivec2 p) { "
                     "return activation_grad(dy_fetch(p), y_fetch(p)); }")
    return "\n".join(lines)


def unpacked_dot_tail(count: int, full: int, dz_call: str, weight_call: str,
                      rows: tuple[str, ...] = ("k", "k1", "k2", "k3"),
                      indent: str = "      ") -> str:
    """GLSL block adding the last, partial texel of a sum over the packed axis (`count`
    values, `full` whole texels): dz is masked so padding lanes add nothing.

    `dz_call` / `weight_call` are format strings with `{t}` for the texel index and
    (weight) `{i}` for each output lane's row (`rows`, one per lane).
    """
    if count % 4 == 0:
        return ""
    mask = tail_mask(count)
    dz = dz_call.format(t=full)
    dots = ", ".join(f"dot({weight_call.format(t=full, i=row)}, g)"
                     for row in rows)
    return (f"{indent}{{\n{indent}  vec4 g = {dz} * {mask};\n"
            f"{indent}  acc += vec4({dots});\n{indent}}}")

