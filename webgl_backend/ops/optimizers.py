"""Optimizer updates as elementwise programs: one per optimizer, writing the parameter and
every state tensor in one draw (multiple render targets, in OPTIMIZER_TARGETS order).

Each matches model_export/nn/optimizers.py `<name>_update` term for term (SGD and
momentum: Keras sgd.py; Adam: Keras adam.py, bias correction folded into alpha and
epsilon added to sqrt(v)), plus L2 weight decay as the gradient term 2 * l2 * param,
exactly what the numpy L1L2 regularizer adds to a kernel's gradient.

A program never reads the texture it writes, so every state tensor has a twin and the
trainer swaps them after a step (ping-pong): the draw reads the old textures and writes
the twins. Inputs share the output's shape and layout.
Step-dependent numbers (the learning rate; Adam's alpha) come from `hyper`, a
one-texel texture (x = lr, y = alpha) uploaded per step, so nothing recompiles.
"""

from __future__ import annotations

from webgl_backend.codegen import DEFAULT_MAX_TEXTURE_SIZE, Program, build_program, float_literal
from webgl_backend.errors import ShapeError

HYPER_SHAPE = (4,)
# State tensors of each optimizer, the parameter first.
OPTIMIZER_TARGETS = {
    "sgd": ("param",),
    "momentum": ("param", "velocity"),
    "adam": ("param", "m", "v"),
}


def _check(op: str, param_shape, l2: float) -> tuple[int, ...]:
    param_shape = tuple(int(d) for d in param_shape)
    if not param_shape or any(d < 1 for d in param_shape):
        raise ShapeError(f"{op}: param must have positive dimensions, got {param_shape}")
    if not l2 >= 0:
        raise ValueError(f"{op}: l2 must be >= 0, got l2={l2!r}")
    return param_shape


def _decay(l2: float) -> str:
    return f" + {float_literal(2.0 * float(l2))} * w" if l2 else ""


def sgd_update(param_shape: tuple[int, ...], *, l2: float = 0.0,
               max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE) -> Program:
    """param_new = param - lr * (grad + 2 * l2 * param); inputs param, grad, hyper."""
    shape = _check("sgd_update", param_shape, l2)
    inputs = {"param": shape, "grad": shape, "hyper": HYPER_SHAPE}
    values = {"DECAY": _decay(l2), "HELPERS": ""}
    return build_program("sgd_update", "sgd_update", inputs, shape, values, max_texture_size)


def momentum_update(param_shape: tuple[int, ...], *, momentum: float = 0.9, l2: float = 0.0,
                    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE) -> Program:
    """velocity_new = momentum * velocity - lr * grad; param_new = param + velocity_new.

    Inputs param, grad, velocity, hyper; writes param (location 0) and velocity (1).
    """
    shape = _check("momentum_update", param_shape, l2)
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum_update: momentum must be in [0, 1), got {momentum!r}")
    inputs = {"param": shape, "grad": shape, "velocity": shape, "hyper": HYPER_SHAPE}
    values = {"DECAY": _decay(l2), "HELPERS": "", "MOMENTUM": float_literal(momentum)}
    return build_program("momentum_update", "momentum_update", inputs, shape, values,
                         max_texture_size, outputs=2)


def adam_update(param_shape: tuple[int, ...], *, beta_1: float = 0.9, beta_2: float = 0.999,
                epsilon: float = 1e-7, l2: float = 0.0,
                max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE) -> Program:
    """Keras Adam: m, v moving averages; param -= m * alpha / (sqrt(v) + epsilon).

    Inputs param, grad, m, v, hyper (y = alpha of this step); writes param, m and v
    (locations 0, 1, 2).
    """
    shape = _check("adam_update", param_shape, l2)
    for name, value in (("beta_1", beta_1), ("beta_2", beta_2)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"adam_update: {name} must be in [0, 1), got {value!r}")
    if not epsilon > 0:
        raise ValueError(f"adam_update: epsilon must be > 0, got {epsilon!r}")
    inputs = {"param": shape, "grad": shape, "m": shape, "v": shape, "hyper": HYPER_SHAPE}
    values = {"DECAY": _decay(l2), "HELPERS": "", "EPSILON": float_literal(epsilon),
              "ONE_MINUS_BETA_1": float_literal(1.0 - beta_1),
              "ONE_MINUS_BETA_2": float_literal(1.0 - beta_2)}
    return build_program("adam_update", "adam_update", inputs, shape, values, max_texture_size,
                         outputs=3)


UPDATE_BUILDERS = {"sgd": sgd_update, "momentum": momentum_update, "adam": adam_update}


def adam_alpha(learning_rate: float, beta_1: float, beta_2: float, step: int) -> float:
    """Keras's folded step size for the 1-based `step`, in float64 (as numpy's adam_update)."""
    if step < 1:
        raise ValueError(f"adam_alpha: step must be >= 1, got {step!r}")
    return float(learning_rate) * (1.0 - beta_2 ** step) ** 0.5 / (1.0 - beta_1 ** step)
