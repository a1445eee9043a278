"""Activations as GLSL: `float activate(float v)` snippets fused into producers, and
standalone elementwise programs (`relu_forward`, ...) for Activation/LeakyReLU layers.

Names follow model_export/nn/activations.py; the formulas match it term for term.
"""

from __future__ import annotations

from webgl_backend.codegen import (
    DEFAULT_MAX_TEXTURE_SIZE,
    Program,
    build_program,
    elementwise_reads,
    float_literal,
    input_width,
    texture_layout,
)
from webgl_backend.errors import ShapeError
from webgl_backend.ops.softmax import softmax_forward

# Keras/TF.js LeakyReLU default slope.
DEFAULT_LEAKY_ALPHA = 0.3
FUSABLE_ACTIVATIONS = ("linear", "relu", "leaky_relu", "elu", "sigmoid", "tanh")
GRADIENT_ACTIVATIONS = FUSABLE_ACTIVATIONS


def activation_snippet(activation: str, alpha: float | None = None) -> str:
    """GLSL `vec4 activate(vec4 v)` for one activation name ('linear' is identity)."""
    if activation in ("linear", None):
        body = "return v;"
    elif activation == "relu":
        body = "return max(v, 0.0);"
    elif activation == "leaky_relu":
        slope = float_literal(DEFAULT_LEAKY_ALPHA if alpha is None else alpha)
        # v for v > 0, slope * v otherwise; each branch is exact (the other term is 0).
        body = f"return max(v, 0.0) + {slope} * min(v, 0.0);"
    elif activation == "elu":
        body = "return mix(exp(min(v, 0.0)) - 1.0, v, greaterThan(v, vec4(0.0)));"
    elif activation == "sigmoid":
        # exp(-v) overflows to inf for v << 0 and 1/(1+inf) is 0: no NaN either way.
        body = "return 1.0 / (1.0 + exp(-v));"
    elif activation == "tanh":
        # Built from exp(-2|v|) <= 1 so large |v| cannot overflow (inf/inf = NaN).
        body = "vec4 e = exp(-2.0 * abs(v)); return sign(v) * (1.0 - e) / (1.0 + e);"
    else:
        raise ShapeError(
            f"activation: {activation!r} cannot be fused into a producer; expected one of "
            f"{', '.join(FUSABLE_ACTIVATIONS)} (softmax is its own op)"
        )
    return f"vec4 activate(vec4 v) {{ {body} }}"


def _elementwise(op: str, x_shape: tuple[int, ...], snippet: str,
                 max_texture_size: int, widths: dict[str, int] | None = None) -> Program:
    x_shape = tuple(int(d) for d in x_shape)
    if not x_shape or any(d < 1 for d in x_shape):
        raise ShapeError(f"{op}: x must have positive dimensions, got shape {x_shape}")
    out_width = texture_layout(x_shape, max_texture_size)[0]
    x_width = input_width("x", x_shape, widths, max_texture_size)
    # Same shape and width: output texel t sits where input texel t does.
    x_value = "x_fetch(ivec2(gl_FragCoord.xy))" if x_width == out_width else "x_texel(t)"
    return build_program(op, "activation_forward", {"x": x_shape}, x_shape,
                         {"OP": op, "ACTIVATION": snippet, "X_VALUE": x_value},
                         max_texture_size, widths)


def relu_forward(x_shape: tuple[int, ...], *,
                 max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                 widths: dict[str, int] | None = None) -> Program:
    """y = max(x, 0), same shape as x."""
    return _elementwise("relu_forward", x_shape, activation_snippet("relu"), max_texture_size,
                        widths)


def leaky_relu_forward(x_shape: tuple[int, ...], alpha: float = DEFAULT_LEAKY_ALPHA, *,
                       max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                       widths: dict[str, int] | None = None) -> Program:
    """y = x if x > 0 else alpha * x."""
    return _elementwise("leaky_relu_forward", x_shape,
                        activation_snippet("leaky_relu", alpha), max_texture_size, widths)


def elu_forward(x_shape: tuple[int, ...], *,
                max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                widths: dict[str, int] | None = None) -> Program:
    """y = x if x > 0 else exp(x) - 1."""
    return _elementwise("elu_forward", x_shape, activation_snippet("elu"), max_texture_size,
                        widths)


def sigmoid_forward(x_shape: tuple[int, ...], *,
                    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                    widths: dict[str, int] | None = None) -> Program:
    """y = 1 / (1 + exp(-x))."""
    return _elementwise("sigmoid_forward", x_shape, activation_snippet("sigmoid"),
                        max_texture_size, widths)


def tanh_forward(x_shape: tuple[int, ...], *,
                 max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                 widths: dict[str, int] | None = None) -> Program:
    """y = tanh(x)."""
    return _elementwise("tanh_forward", x_shape, activation_snippet("tanh"), max_texture_size,
                        widths)


def activation_forward(activation: str, x_shape: tuple[int, ...], alpha: float | None = None, *,
                       max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                       widths: dict[str, int] | None = None) -> Program:
    """The standalone program for an activation name (used by Activation layers)."""
    if activation == "softmax":
        return softmax_forward(x_shape, max_texture_size=max_texture_size, widths=widths)
    if activation == "leaky_relu":
        return leaky_relu_forward(x_shape, DEFAULT_LEAKY_ALPHA if alpha is None else alpha,
                                  max_texture_size=max_texture_size, widths=widths)
    builders = {"relu": relu_forward, "elu": elu_forward, "sigmoid": sigmoid_forward,
                "tanh": tanh_forward}
    if activation not in builders:
        raise ShapeError(
            f"activation: unknown activation {activation!r}; expected one of "
            "relu, leaky_relu, elu, sigmoid, tanh, softmax"
        )
    return builders[activation](x_shape, max_texture_size=max_texture_size, widths=widths)


def activation_grad_snippet(activation: str | None, alpha: float | None = None) -> str:
    """GLSL `vec4 activation_grad(vec4 dy, vec4 y)`: dy * f'(z) from the activated y."""
    activation = activation or "linear"
    if activation == "linear":
        body = "return dy;"
    elif activation == "relu":
        # TF's convention: gradient 0 at z == 0 (y > 0 exactly when z > 0).
        body = "return dy * vec4(greaterThan(y, vec4(0.0)));"
    elif activation == "leaky_relu":
        slope = DEFAULT_LEAKY_ALPHA if alpha is None else float(alpha)
        if slope < 0:
            # With alpha >= 0, y > 0 exactly when z > 0, so y tells the branch; not below 0.
            raise ShapeError(f"Invalid value for argument `alpha` of leaky_relu_backward. "
                             f"Expected a value >= 0. Received alpha={slope!r}")
        body = f"return mix(dy * {float_literal(slope)}, dy, greaterThan(y, vec4(0.0)));"
    elif activation == "elu":
        body = "return mix(dy * (y + 1.0), dy, greaterThan(y, vec4(0.0)));"
    elif activation == "sigmoid":
        body = "return dy * y * (1.0 - y);"
    elif activation == "tanh":
        body = "return dy * (1.0 - y * y);"
    else:
        raise ShapeError(
            f"activation backward: {activation!r} has no fused gradient; expected one of "
            f"{', '.join(GRADIENT_ACTIVATIONS)} (softmax is trained through "
            "softmax_cross_entropy_backward)"
        )
    return f"vec4 activation_grad(vec4 dy, vec4 y) {{ {body} }}"


# -- backward (fine-tuning) ------------------------------------------------------------
# dx = dy * f'(y) as a standalone program, for Activation/LeakyReLU layers that could not
# be fused into a producer (a producer's backward reads dz = dy * f'(y) itself, see
# ops/gradients.py). The derivative is taken from y, the activated output.


def _elementwise_backward(op: str, activation: str, alpha: float | None,
                          dy_shape: tuple[int, ...], y_shape: tuple[int, ...],
                          max_texture_size: int, widths: dict[str, int] | None) -> Program:
    dy_shape = tuple(int(d) for d in dy_shape)
    y_shape = tuple(int(d) for d in y_shape)
    if not dy_shape or any(d < 1 for d in dy_shape):
        raise ShapeError(f"{op}: dy must have positive dimensions, got shape {dy_shape}")
    if y_shape != dy_shape:
        raise ShapeError(f"{op}: y {y_shape} and dy {dy_shape} must have the same shape")
    values = {"OP": op, "HELPERS": activation_grad_snippet(activation, alpha),
              **elementwise_reads(dy_shape, ("dy", "y"), max_texture_size, widths)}
    return build_program(op, "activation_backward", {"dy": dy_shape, "y": y_shape}, dy_shape,
                         values, max_texture_size, widths)


def relu_backward(dy_shape: tuple[int, ...], y_shape: tuple[int, ...], *,
                  max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                  widths: dict[str, int] | None = None) -> Program:
    """dx = dy where y > 0, else 0 (gradient 0 at 0, TF's rule); shapes of dy."""
    return _elementwise_backward("relu_backward", "relu", None, dy_shape, y_shape,
                                 max_texture_size, widths)


def leaky_relu_backward(dy_shape: tuple[int, ...], y_shape: tuple[int, ...],
                        alpha: float = DEFAULT_LEAKY_ALPHA, *,
                        max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                        widths: dict[str, int] | None = None) -> Program:
    """dx = dy where y > 0, else alpha * dy (alpha > 0, so y > 0 exactly when x > 0)."""
    return _elementwise_backward("leaky_relu_backward", "leaky_relu", alpha, dy_shape, y_shape,
                                 max_texture_size, widths)


def elu_backward(dy_shape: tuple[int, ...], y_shape: tuple[int, ...], *,
                 max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                 widths: dict[str, int] | None = None) -> Program:
    """dx = dy where y > 0, else dy * (y + 1)."""
    return _elementwise_backward("elu_backward", "elu", None, dy_shape, y_shape,
                                 max_texture_size, widths)


def sigmoid_backward(dy_shape: tuple[int, ...], y_shape: tuple[int, ...], *,
                     max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                     widths: dict[str, int] | None = None) -> Program:
    """dx = dy * y * (1 - y)."""
    return _elementwise_backward("sigmoid_backward", "sigmoid", None, dy_shape, y_shape,
                                 max_texture_size, widths)


def tanh_backward(dy_shape: tuple[int, ...], y_shape: tuple[int, ...], *,
                  max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                  widths: dict[str, int] | None = None) -> Program:
    """dx = dy * (1 - y^2)."""
    return _elementwise_backward("tanh_backward", "tanh", None, dy_shape, y_shape,
                                 max_texture_size, widths)


def activation_backward(activation: str, dy_shape: tuple[int, ...], y_shape: tuple[int, ...],
                        alpha: float | None = None, *,
                        max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                        widths: dict[str, int] | None = None) -> Program:
    """The standalone backward program for an activation name (not linear, not softmax)."""
    if activation not in ("relu", "leaky_relu", "elu", "sigmoid", "tanh"):
        raise ShapeError(
            f"activation_backward: no standalone gradient program for {activation!r}; "
            "expected one of relu, leaky_relu, elu, sigmoid, tanh (softmax trains through "
            "softmax_cross_entropy_backward, linear needs none)"
        )
    return _elementwise_backward(f"{activation}_backward", activation, alpha, dy_shape, y_shape,
                                 max_texture_size, widths)


def times_activation_gradient(inputs: dict[str, tuple[int, ...]], y_shape: tuple[int, ...],
                              activation: str | None, alpha: float | None = None
                              ) -> dict[str, str]:
    """Template values HELPERS and RESULT for a pass writing v (its output texel) that may
    also apply an activation's gradient: RESULT is `v`, or `activation_grad(v, y)` with y
    (added to `inputs`) the activated output in the pass's own output layout."""
    activation = activation or "linear"
    if activation == "linear":
        return {"HELPERS": "", "RESULT": "v"}
    inputs["y"] = tuple(y_shape)
    return {"HELPERS": activation_grad_snippet(activation, alpha),
            "RESULT": "activation_grad(v, y_fetch(ivec2(gl_FragCoord.xy)))"}
