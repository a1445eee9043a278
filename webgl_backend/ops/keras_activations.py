"""The Keras activation layer classes with arguments, as GLSL: ReLU(max_value,
negative_slope, threshold) and ELU(alpha). Formulas match
model_export/nn/activation_layers.py and activations.elu_forward term for term.

`layer_activation` maps a layer to the fusable name of ops/activations.py when its
arguments are that activation's (ReLU() is relu, ReLU(negative_slope=a) is leaky_relu,
ELU(1.0) is elu), so the runtime fuses it into the producer's draw; other settings draw
`keras_activation_forward`.
"""

from __future__ import annotations

from webgl_backend.codegen import (
    DEFAULT_MAX_TEXTURE_SIZE,
    Program,
    build_program,
    float_literal,
    input_width,
    texture_layout,
)
from webgl_backend.errors import ShapeError


def layer_activation(class_name: str, config: dict) -> tuple[str, float | None] | None:
    """(fusable activation name, alpha) equal to this ReLU/ELU layer, or None."""
    if class_name == "ELU":
        return ("elu", None) if config["alpha"] == 1.0 else None
    if config["max_value"] is not None or config["threshold"] != 0.0:
        return None
    slope = config["negative_slope"]
    return ("relu", None) if slope == 0.0 else ("leaky_relu", slope)


def keras_activation_snippet(class_name: str, config: dict) -> str:
    """GLSL `vec4 activate(vec4 v)` for a ReLU or ELU layer's arguments."""
    if class_name == "ELU":
        alpha = float_literal(config["alpha"])
        body = f"return mix({alpha} * (exp(min(v, 0.0)) - 1.0), v, greaterThan(v, vec4(0.0)));"
        return f"vec4 activate(vec4 v) {{ {body} }}"
    if class_name != "ReLU":
        raise ShapeError(f"keras_activation: {class_name!r} is not ReLU or ELU")
    threshold = float_literal(config["threshold"])
    slope = float_literal(config["negative_slope"])
    above = "v" if config["max_value"] is None else f"min(v, {float_literal(config['max_value'])})"
    body = (f"return mix((v - {threshold}) * {slope}, {above}, "
            f"greaterThan(v, vec4({threshold})));")
    return f"vec4 activate(vec4 v) {{ {body} }}"


def keras_activation_forward(class_name: str, config: dict, x_shape: tuple[int, ...], *,
                             max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                             widths: dict[str, int] | None = None) -> Program:
    """The standalone elementwise program of a ReLU or ELU layer, same shape as x."""
    x_shape = tuple(int(d) for d in x_shape)
    if not x_shape or any(d < 1 for d in x_shape):
        raise ShapeError(f"keras_activation: x must have positive dimensions, got {x_shape}")
    op = f"{class_name.lower()}_layer_forward"
    out_width = texture_layout(x_shape, max_texture_size)[0]
    x_width = input_width("x", x_shape, widths, max_texture_size)
    x_value = "x_fetch(ivec2(gl_FragCoord.xy))" if x_width == out_width else "x_texel(t)"
    # Tail lanes hold 0; ReLU with a threshold maps 0 to -slope * threshold there, which no
    # consumer reads (every op masks or ignores lanes past the last channel).
    return build_program(op, "activation_forward", {"x": x_shape}, x_shape,
                         {"OP": op, "ACTIVATION": keras_activation_snippet(class_name, config),
                          "X_VALUE": x_value}, max_texture_size, widths)
