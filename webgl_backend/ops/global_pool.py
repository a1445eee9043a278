"""global_avg_pool2d and global_max_pool2d: (n, h, w, c) -> (n, c), one fragment per
four channels of one sample (model_export/nn/global_pool.py)."""

from __future__ import annotations

from webgl_backend.codegen import DEFAULT_MAX_TEXTURE_SIZE, Program, build_program
from webgl_backend.errors import ShapeError

_MODES = {
    "avg": {"INIT": "vec4(0.0)", "ACCUMULATE": "acc += v;", "FINISH": "acc / float({cells})"},
    # The sentinel is replaced by the first cell: every window holds h * w >= 1 cells.
    "max": {"INIT": "vec4(-3.402823466e+38)",
            "ACCUMULATE": "acc = mix(acc, v, greaterThan(v, acc));", "FINISH": "acc"},
}


def global_pool2d_forward(mode: str, x_shape: tuple[int, ...], *,
                          max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                          widths: dict[str, int] | None = None) -> Program:
    """mode 'avg' (mean) or 'max' over height and width of x (n, h, w, c)."""
    x_shape = tuple(int(d) for d in x_shape)
    if mode not in _MODES:
        raise ShapeError(f"global_pool2d: mode {mode!r}; expected 'avg' or 'max'")
    if len(x_shape) != 4 or any(d < 1 for d in x_shape):
        raise ShapeError(f"global_pool2d: x must be (n, h, w, c) with positive sizes, got "
                         f"{x_shape}")
    n, h, w, c = x_shape
    op = f"global_{mode}_pool2d_forward"
    values = {key: text.format(cells=h * w) for key, text in _MODES[mode].items()}
    values.update({"OP": op, "N": n, "H": h, "W": w, "C": c})
    return build_program(op, "global_pool2d_forward", {"x": x_shape}, (n, c), values,
                         max_texture_size, widths)
