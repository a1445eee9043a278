"""conv2d programs that compute four entries of one axis per fragment (multiple render
targets), and the gather that interleaves the four targets back into one tensor.

One fragment of conv2d_forward / conv2d_backward_input computes four channels of one
image, fetching a kernel texel for every 4 multiply-adds; the kernel is most of the
fetches, and each fetch is costly in SwiftShader. Four images per fragment share every
kernel texel (`*_batch4`). conv2d_backward_kernel reads one lane of each x texel; four
input channels per fragment use all four (`*_cin4`). Every output value is the same sum,
term for term, as the one-per-fragment program's; `gather_groups4` (one cheap draw)
writes the usual layout, so nothing downstream changes.
"""

from __future__ import annotations

from webgl_backend.codegen import (
    DEFAULT_MAX_TEXTURE_SIZE,
    Program,
    bias_init,
    build_program,
    layer_inputs,
    tail_mask,
)
from webgl_backend.errors import ShapeError
from webgl_backend.ops.activations import activation_snippet, times_activation_gradient
from webgl_backend.ops.conv import (
    _check_kernel,
    _conv_backward_geometry,
    _conv_values,
    _pair,
    conv2d_backward_input,
    conv2d_backward_kernel,
    conv2d_forward,
    window_geometry,
)
from webgl_backend.ops.gradients import dz_accessors, gradient_inputs

# From this many images a batch4 program (plus its gather) beats one image per fragment.
BATCH4_MIN_IMAGES = 8
# From this many input channels the cin4 kernel gradient (plus its gather) pays. (With one
# channel, four kernel columns per fragment sharing each dz texel measured slower than
# one program: 24 fragments for conv1's 6x6x1x6 kernel leave SwiftShader's threads idle.)
CIN4_MIN_CHANNELS = 2
TARGETS = 4


def _groups(count: int) -> int:
    return -(-count // TARGETS)


def _weight_tail(cin: int, full: int) -> tuple[str, str]:
    """The kernel texels of the last, partial input texel (declared, fetched once) and one
    image's sum over them, in conv2d_forward's CIN_TAIL order."""
    names = [f"t{j}" for j in range(cin % 4)]
    declared = " ".join(f"vec4 {name} = kernel_at(ky, kx, {4 * full + j}, co4);"
                        for j, name in enumerate(names))
    terms = " + ".join(f"xs.{'xyzw'[j]} * {name}" for j, name in enumerate(names))
    return declared, terms


def conv2d_forward_batch4(
    x_shape: tuple[int, ...],
    kernel_shape: tuple[int, ...],
    bias_shape: tuple[int, ...] | None = None,
    *,
    strides=(1, 1),
    padding: str = "valid",
    activation: str = "linear",
    alpha: float | None = None,
    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
    widths: dict[str, int] | None = None,
) -> Program:
    """Four targets of shape (ceil(n / 4), oh, ow, cout): target j holds images 4g + j of
    conv2d_forward's y; `gather_groups4(y_shape, 0)` turns them into y."""
    x_shape = tuple(int(d) for d in x_shape)
    kernel_shape = tuple(int(d) for d in kernel_shape)
    _check_kernel("conv2d", x_shape, kernel_shape)
    cin, cout = kernel_shape[2:]
    g = window_geometry("conv2d", x_shape, kernel_shape[:2], strides, padding)
    inputs = layer_inputs("conv2d", x_shape, kernel_shape, bias_shape)
    full = cin // 4
    cin_tail = ""
    if cin % 4:
        declared, terms = _weight_tail(cin, full)
        images = "\n".join(f"        xs = x_at(n{j}, in_row, in_col, {full});\n"
                           f"        acc{j} += {terms};" for j in range(TARGETS))
        cin_tail = f"      {{\n        {declared}\n        vec4 xs;\n{images}\n      }}"
    values = _conv_values(x_shape, kernel_shape, strides, g)
    values.update(CIN_FULL4=full, CIN_TAIL=cin_tail, BIAS_INIT=bias_init(inputs, "co4"),
                  ACTIVATION=activation_snippet(activation, alpha),
                  GROUPS=_groups(x_shape[0]))
    return build_program("conv2d_forward_batch4", "conv2d_forward_batch4", inputs,
                         (_groups(x_shape[0]), g.oh, g.ow, cout), values, max_texture_size,
                         widths, outputs=TARGETS)


def conv2d_backward_input_batch4(
    dy_shape: tuple[int, ...],
    kernel_shape: tuple[int, ...],
    *,
    x_shape: tuple[int, ...],
    strides=(1, 1),
    padding: str = "valid",
    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
    widths: dict[str, int] | None = None,
) -> Program:
    """Four targets of shape (ceil(n / 4), h, w, cin): target j holds images 4g + j of
    conv2d_backward_input's dx (dy is dz: the activation's pass came first)."""
    x_shape = tuple(int(d) for d in x_shape)
    kernel_shape = tuple(int(d) for d in kernel_shape)
    dy_shape = tuple(int(d) for d in dy_shape)
    g = _conv_backward_geometry("conv2d_backward_input", x_shape, kernel_shape, dy_shape,
                                strides, padding)
    inputs = gradient_inputs("conv2d_backward_input", dy_shape, None, "linear")
    inputs["kernel"] = kernel_shape
    cout = kernel_shape[3]
    full = cout // 4
    co_tail = ""
    if cout % 4:
        rows = ("ci", "c1", "c2", "c3")
        declared = "; ".join(f"vec4 q{j} = kernel_at(ky, kx, {row}, {full})"
                             for j, row in enumerate(rows))
        dots = ", ".join(f"dot(q{j}, g)" for j in range(4))
        images = "\n".join(f"        g = dz_at(n{j}, oy, ox, {full}) * {tail_mask(cout)};\n"
                           f"        acc{j} += vec4({dots});" for j in range(TARGETS))
        co_tail = f"      {{\n        {declared};\n        vec4 g;\n{images}\n      }}"
    values = _conv_values(x_shape, kernel_shape, strides, g)
    values.update(CO_FULL4=full, CO_TAIL=co_tail, HELPERS=dz_accessors(4, "linear"),
                  GROUPS=_groups(x_shape[0]))
    return build_program("conv2d_backward_input_batch4", "conv2d_backward_input_batch4",
                         inputs, (_groups(x_shape[0]),) + x_shape[1:], values,
                         max_texture_size, widths, outputs=TARGETS)


def conv2d_backward_kernel_cin4(
    x_shape: tuple[int, ...],
    dy_shape: tuple[int, ...],
    *,
    kernel_size,
    strides=(1, 1),
    padding: str = "valid",
    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
    widths: dict[str, int] | None = None,
) -> Program:
    """Four targets of shape (kh, kw, ceil(cin / 4), cout): target j holds input channels
    4c + j of conv2d_backward_kernel's dkernel (dy is dz)."""
    x_shape = tuple(int(d) for d in x_shape)
    dy_shape = tuple(int(d) for d in dy_shape)
    kh, kw = _pair("conv2d_backward_kernel", "kernel_size", kernel_size)
    if len(x_shape) != 4 or len(dy_shape) != 4:
        raise ShapeError(f"conv2d_backward_kernel: x and dy must be 4-D (n, h, w, c), got x "
                         f"{x_shape}, dy {dy_shape}")
    kernel_shape = (kh, kw, x_shape[3], dy_shape[3])
    g = _conv_backward_geometry("conv2d_backward_kernel", x_shape, kernel_shape, dy_shape,
                                strides, padding)
    inputs = {"x": x_shape}
    inputs.update(gradient_inputs("conv2d_backward_kernel", dy_shape, None, "linear"))
    values = _conv_values(x_shape, kernel_shape, strides, g)
    values["HELPERS"] = dz_accessors(4, "linear")
    return build_program("conv2d_backward_kernel_cin4", "conv2d_backward_kernel_cin4", inputs,
                         (kh, kw, _groups(x_shape[3]), dy_shape[3]), values, max_texture_size,
                         widths, outputs=TARGETS)


def gather_groups4(y_shape: tuple[int, ...], axis: int, *, activation: str = "linear",
                   alpha: float | None = None,
                   max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE) -> Program:
    """y (4-D) from the 4 targets (part0..part3) of a program computing four entries of
    `axis` (0 or 2: not the packed last axis) per fragment: entry i is entry i // 4 of
    part i % 4. With an `activation`, each value times its gradient at input `y` (the
    activated output of the layer below, in y_shape's layout): dz for that layer."""
    y_shape = tuple(int(d) for d in y_shape)
    if len(y_shape) != 4 or any(d < 1 for d in y_shape):
        raise ShapeError(f"gather_groups4: y must be 4-D with positive sizes, got {y_shape}")
    if axis not in (0, 2):
        raise ShapeError(f"gather_groups4: axis must be 0 or 2 (not the packed last "
                         f"axis), got {axis!r}")
    part = list(y_shape)
    part[axis] = _groups(y_shape[axis])
    inputs = {f"part{j}": tuple(part) for j in range(TARGETS)}
    coords = ["o.x", "o.y", "o.z", "o.w"]
    coords[axis] = "g"
    values = {"Y_SHAPE": y_shape, "AXIS": axis, "ARGS": ", ".join(coords),
              **times_activation_gradient(inputs, y_shape, activation, alpha)}
    return build_program("gather_groups4", "gather_groups4", inputs, y_shape, values,
                         max_texture_size)


# -- the draws a layer appends: grouped where it pays, else the one-per-fragment program ---

def conv2d_forward_programs(x_shape: tuple[int, ...], kernel_shape: tuple[int, ...],
                            bias_shape: tuple[int, ...] | None = None, **kwargs) -> list[Program]:
    """`[conv2d_forward]`, or from BATCH4_MIN_IMAGES images `[conv2d_forward_batch4,
    gather_groups4]` (kwargs: conv2d_forward's)."""
    if x_shape[0] < BATCH4_MIN_IMAGES:
        return [conv2d_forward(x_shape, kernel_shape, bias_shape, **kwargs)]
    grouped = conv2d_forward_batch4(x_shape, kernel_shape, bias_shape, **kwargs)
    y_shape = (x_shape[0],) + grouped.output_shape[1:]
    return [grouped, gather_groups4(y_shape, 0, max_texture_size=kwargs.get(
        "max_texture_size", DEFAULT_MAX_TEXTURE_SIZE))]


def conv2d_backward_input_programs(dy_shape: tuple[int, ...], kernel_shape: tuple[int, ...], *,
                                   x_shape: tuple[int, ...], activation: str = "linear",
                                   alpha: float | None = None, **kwargs) -> list[Program]:
    """dx from dz (dy with the activation's pass already taken): one program, or from
    BATCH4_MIN_IMAGES images the batch4 program and its gather, which multiplies by the
    gradient of `activation` of the layer below when given (reading that layer's output
    as `y`; kwargs: strides, padding, max_texture_size, widths)."""
    if x_shape[0] < BATCH4_MIN_IMAGES:
        if activation != "linear":
            raise ShapeError("conv2d_backward_input: the activation below is applied by the "
                             f"gather of a batch of {BATCH4_MIN_IMAGES}+ images only")
        return [conv2d_backward_input(dy_shape, kernel_shape, x_shape=x_shape, **kwargs)]
    mts = kwargs.get("max_texture_size", DEFAULT_MAX_TEXTURE_SIZE)
    return [conv2d_backward_input_batch4(dy_shape, kernel_shape, x_shape=x_shape, **kwargs),
            gather_groups4(tuple(x_shape), 0, activation=activation, alpha=alpha,
                           max_texture_size=mts)]


def conv2d_backward_kernel_programs(x_shape: tuple[int, ...], dy_shape: tuple[int, ...], *,
                                    kernel_size, **kwargs) -> list[Program]:
    """dkernel from x and dz: from CIN4_MIN_CHANNELS input channels the cin4 program and
    its gather, else one program (kwargs: strides, padding, max_texture_size, widths)."""
    kh, kw = _pair("conv2d_backward_kernel", "kernel_size", kernel_size)
    kernel_shape = (kh, kw, x_shape[3], dy_shape[3])
    mts = kwargs.get("max_texture_size", DEFAULT_MAX_TEXTURE_SIZE)
    if x_shape[3] >= CIN4_MIN_CHANNELS:
        return [conv2d_backward_kernel_cin4(x_shape, dy_shape, kernel_size=kernel_size,
                                            **kwargs),
                gather_groups4(kernel_shape, 2, max_texture_size=mts)]
    return [conv2d_backward_kernel(x_shape, dy_shape, kernel_size=kernel_size, **kwargs)]
