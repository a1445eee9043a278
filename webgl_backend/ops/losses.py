"""softmax_cross_entropy from the logits: the loss value and its gradient, fused with softmax.

Mirrors model_export/nn/losses.py: loss = mean over rows of -log softmax(logits)[label]
(log-sum-exp of max-shifted logits), dlogits = (softmax(logits) - onehot(labels)) / n.
The numpy backward takes the probabilities; here the program takes the logits and
recomputes the softmax per fragment (a handful of classes), so no probability texture
is needed. Labels live in a float texture of shape (n,) holding class indices.
"""

from __future__ import annotations

from webgl_backend.codegen import (
    DEFAULT_MAX_TEXTURE_SIZE,
    LANE_MASK,
    Program,
    build_program,
    float_literal,
    lanes,
)
from webgl_backend.errors import ShapeError


def _check(op: str, logits_shape, labels_shape) -> tuple[int, int]:
    logits_shape = tuple(int(d) for d in logits_shape)
    labels_shape = tuple(int(d) for d in labels_shape)
    if len(logits_shape) != 2 or any(d < 1 for d in logits_shape):
        raise ShapeError(f"{op}: logits must be (n, classes) with positive sizes, got "
                         f"{logits_shape}")
    if labels_shape != (logits_shape[0],):
        raise ShapeError(f"{op}: labels must have shape ({logits_shape[0]},) to match logits "
                         f"{logits_shape}, got {labels_shape}")
    return logits_shape


def _row_helpers(classes: int) -> str:
    """GLSL `row_max(row)` and `row_exp_sum(row, largest)` over the valid lanes only."""
    full, rest = divmod(classes, 4)
    max_tail = sum_tail = ""
    if rest:
        comps = [f"tail.{lane}" for lane in lanes(rest)]
        max_tail = (f"  vec4 tail = logits_at(row, {full});\n"
                    + "".join(f"  m = max(m, {c});\n" for c in comps))
        sum_tail = (f"  vec4 tail = logits_at(row, {full});\n"
                    + "".join(f"  total += exp({c} - largest);\n" for c in comps))
    return f"""{LANE_MASK}
float row_max(int row) {{
  float m = -3.402823466e+38;
  for (int c4 = 0; c4 < {full}; ++c4) {{
    vec4 l = logits_at(row, c4);
    m = max(m, max(max(l.x, l.y), max(l.z, l.w)));
  }}
{max_tail}  return m;
}}
float row_exp_sum(int row, float largest) {{
  float total = 0.0;
  for (int c4 = 0; c4 < {full}; ++c4) {{
    total += dot(exp(logits_at(row, c4) - largest), vec4(1.0));
  }}
{sum_tail}  return total;
}}"""


def _values(rows: int, classes: int) -> dict[str, object]:
    return {"ROWS": rows, "ROWS_FLOAT": float_literal(rows), "CLASSES": classes,
            "C4": -(-classes // 4), "HELPERS": _row_helpers(classes)}


def softmax_cross_entropy_backward(
    logits_shape: tuple[int, ...],
    labels_shape: tuple[int, ...],
    *,
    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
    widths: dict[str, int] | None = None,
) -> Program:
    """dlogits (n, classes) = (softmax(logits) - onehot(labels)) / n."""
    rows, classes = _check("softmax_cross_entropy_backward", logits_shape, labels_shape)
    return build_program("softmax_cross_entropy_backward", "softmax_cross_entropy_backward",
                         {"logits": (rows, classes), "labels": (rows,)}, (rows, classes),
                         _values(rows, classes), max_texture_size, widths)


def softmax_cross_entropy_forward(
    logits_shape: tuple[int, ...],
    labels_shape: tuple[int, ...],
    *,
    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
    widths: dict[str, int] | None = None,
) -> Program:
    """loss (1,): mean over the n rows of -log softmax(logits)[label] (one fragment)."""
    rows, classes = _check("softmax_cross_entropy_forward", logits_shape, labels_shape)
    return build_program("softmax_cross_entropy_forward", "softmax_cross_entropy_forward",
                         {"logits": (rows, classes), "labels": (rows,)}, (1,),
                         _values(rows, classes), max_texture_size, widths)
