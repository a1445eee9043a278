"""Backward programs of global pooling, ZeroPadding2D and the Keras ReLU/ELU layers, for
fine-tuning in the page; each matches its numpy reference in model_export/nn
(global_pool, padding, activation_layers, activations.elu_backward).
"""

from __future__ import annotations

from webgl_backend.codegen import (
    DEFAULT_MAX_TEXTURE_SIZE,
    Program,
    build_program,
    elementwise_reads,
    float_literal,
)
from webgl_backend.errors import ShapeError

_MAX_ARGMAX = """  // The first maximum of each lane over all cells (strict '>', as the forward).
  vec4 best = vec4(-3.402823466e+38);
  vec4 first = vec4(0.0);
  for (int row = 0; row < ${H}; ++row) {
    for (int col = 0; col < ${W}; ++col) {
      vec4 v = x_at(o.x, row, col, o.w);
      bvec4 better = greaterThan(v, best);
      best = mix(best, v, better);
      first = mix(first, vec4(float(row * ${W} + col)), better);
    }
  }
  float here = float(o.y * ${W} + o.z);
  write_output(g * vec4(equal(first, vec4(here))));"""


def _check_4d(op: str, name: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    shape = tuple(int(d) for d in shape)
    if len(shape) != 4 or any(d < 1 for d in shape):
        raise ShapeError(f"{op}: {name} must be (n, h, w, c) with positive sizes, got {shape}")
    return shape


def global_pool2d_backward(dy_shape: tuple[int, ...], x_shape: tuple[int, ...], *, mode: str,
                           max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                           widths: dict[str, int] | None = None) -> Program:
    """dx like x: 'avg' spreads dy evenly over h * w cells; 'max' routes it to the first
    maximum of x (reads x too)."""
    op = f"global_{mode}_pool2d_backward"
    n, h, w, c = _check_4d(op, "x", x_shape)
    if tuple(dy_shape) != (n, c):
        raise ShapeError(f"{op}: dy has shape {tuple(dy_shape)}, expected {(n, c)} for x "
                         f"{tuple(x_shape)}")
    values = {"OP": op, "MODE": mode, "N": n, "H": h, "W": w, "C": c, "HELPERS": ""}
    inputs = {"dy": (n, c)}
    if mode == "avg":
        values["BODY"] = f"  write_output(g / float({h * w}));"
    elif mode == "max":
        values["BODY"] = _MAX_ARGMAX.replace("${H}", str(h)).replace("${W}", str(w))
        inputs["x"] = (n, h, w, c)
    else:
        raise ShapeError(f"global_pool2d_backward: mode {mode!r}; expected 'avg' or 'max'")
    return build_program(op, "global_pool2d_backward", inputs, (n, h, w, c), values,
                         max_texture_size, widths)


def zero_padding2d_backward(dy_shape: tuple[int, ...], *, pads,
                            max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                            widths: dict[str, int] | None = None) -> Program:
    """dx (n, h, w, c): dy without its pads ((top, bottom), (left, right))."""
    op = "zero_padding2d_backward"
    n, oh, ow, c = _check_4d(op, "dy", dy_shape)
    (top, bottom), (left, right) = ((int(a), int(b)) for a, b in pads)
    h, w = oh - top - bottom, ow - left - right
    if h < 1 or w < 1 or min(top, bottom, left, right) < 0:
        raise ShapeError(f"{op}: pads {pads!r} do not fit dy {tuple(dy_shape)}")
    values = {"N": n, "H": h, "W": w, "C": c, "OH": oh, "OW": ow, "TOP": top, "LEFT": left}
    return build_program(op, op, {"dy": (n, oh, ow, c)}, (n, h, w, c), values,
                         max_texture_size, widths)


def keras_activation_grad(class_name: str, config: dict) -> str:
    """GLSL body of `activation_grad(dy, x)` for a ReLU or ELU layer's arguments."""
    if class_name == "ELU":
        alpha = float_literal(config["alpha"])
        return (f"return dy * mix({alpha} * exp(min(x, 0.0)), vec4(1.0), "
                "greaterThan(x, vec4(0.0)));")
    if class_name != "ReLU":
        raise ShapeError(f"keras_activation_backward: {class_name!r} is not ReLU or ELU")
    threshold = f"vec4({float_literal(config['threshold'])})"
    passes = f"vec4(greaterThan(x, {threshold}))"
    if config["max_value"] is not None:
        cap = f"vec4({float_literal(config['max_value'])})"
        passes = f"{passes} * vec4(lessThanEqual(x, {cap}))"
    below = f"vec4(lessThan(x, {threshold})) * {float_literal(config['negative_slope'])}"
    return f"return dy * ({passes} + {below});"


def keras_activation_backward(dy_shape: tuple[int, ...], x_shape: tuple[int, ...], *,
                              class_name: str, config: dict,
                              max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                              widths: dict[str, int] | None = None) -> Program:
    """dx = dy * f'(x) of a ReLU or ELU layer; shapes of dy (= x)."""
    op = f"{class_name.lower()}_layer_backward"
    dy_shape, x_shape = tuple(int(d) for d in dy_shape), tuple(int(d) for d in x_shape)
    if dy_shape != x_shape or not dy_shape or any(d < 1 for d in dy_shape):
        raise ShapeError(f"{op}: dy {dy_shape} and x {x_shape} must be one positive shape")
    values = {"OP": op, "GRAD": keras_activation_grad(class_name, config),
              **elementwise_reads(dy_shape, ("dy", "x"), max_texture_size, widths)}
    return build_program(op, "keras_activation_backward", {"dy": dy_shape, "x": x_shape},
                         dy_shape, values, max_texture_size, widths)
