"""Codegen: GLSL ES 3.00 fragment shaders from `shaders/` templates plus baked-in shapes.

A `Program` is a description only (name, source, input names, output shape); compiling,
caching and drawing it happen in `context.py`. Every builder here is pure: no GL calls,
no globals apart from the template cache, so it runs the same in CPython and Pyodide.

Tensors are RGBA32F textures holding four values of the last axis per texel, texels
flat NHWC row-major; `texture_layout` decides the (width, height) of a tensor from its
shape, and a program bakes every texture width it reads or writes in as a literal.

Set the environment variable SHADERNET_DUMP_SHADERS=1 (in the page: `os.environ`) to
print every generated source as it is built.

Over ~300 lines on purpose: the texture layout, template filling and the shared GLSL
snippets are one vocabulary every op builder uses; split, each part would import the rest.
"""

from __future__ import annotations

import math
import os
import string
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from webgl_backend.errors import ShapeError

# WebGL2 guarantees 2048; Chromium's SwiftShader gives 8192. The runtime passes the real
# MAX_TEXTURE_SIZE; builders default to a value every desktop browser reaches.
DEFAULT_MAX_TEXTURE_SIZE = 4096
DUMP_ENV_VAR = "SHADERNET_DUMP_SHADERS"

_TEMPLATE_CACHE: dict[str, str] = {}


@dataclass(frozen=True)
class Program:
    """A fragment shader specialised to its shapes.

    `inputs` are the sampler names in texture-unit order (unit 0 first); `output_shape`
    is the logical NHWC shape of the tensor the program writes. The texture widths
    baked into the source are kept so a draw can check the textures it is given.
    `outputs` > 1: the program writes that many tensors of `output_shape` at once
    (multiple render targets, output locations 0..outputs-1).
    """

    name: str
    source: str
    inputs: tuple[str, ...]
    output_shape: tuple[int, ...]
    input_widths: tuple[int, ...] = ()
    output_width: int = 0
    outputs: int = 1

    @property
    def output_size(self) -> int:
        return shape_size(self.output_shape)


def shape_size(shape: tuple[int, ...]) -> int:
    """Number of elements of a tensor of this shape."""
    return math.prod(shape)


def texel_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape in texels: the last axis packed four values per RGBA texel (rounded up)."""
    shape = tuple(int(d) for d in shape)
    if not shape or any(d < 1 for d in shape):
        raise ShapeError(f"texture_layout: a tensor needs positive dimensions, got shape {shape}")
    return shape[:-1] + (-(-shape[-1] // 4),)


def flat_layout(texels: int, max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE) -> tuple[int, int]:
    """(width, height) of the near-square texture holding `texels` texels (the fallback)."""
    if texels < 1:
        raise ShapeError(f"texture_layout: a tensor needs at least one texel, got {texels}")
    width = min(math.isqrt(texels - 1) + 1, max_texture_size)
    height = -(-texels // width)
    if height > max_texture_size:
        raise ShapeError(
            f"texture_layout: {texels} texels need a {width}x{height} texture, larger than "
            f"MAX_TEXTURE_SIZE={max_texture_size}"
        )
    return width, height


def texture_layout(shape, max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE) -> tuple[int, int]:
    """(width, height) of the RGBA32F texture for a tensor of `shape` (an int: texel count).

    The last axis is packed four values per texel, so one fetch brings four channels
    (or four units) and one fragment writes four outputs. Texels are flat row-major
    over `texel_shape(shape)`: texel t at (t mod width, t div width). The width is chosen
    so shaders address texels without integer division (costly in SwiftShader and on
    many GPUs): (n, h, w, c) gets width w*ceil(c/4), texel (x*c4 + c/4, n*h + y); a matrix
    (rows, cols) gets width ceil(cols/4); a vector is one row. When that does not fit
    in max_texture_size, a near-square layout (`flat_layout`) is used and shaders fall
    back to division.
    """
    if isinstance(shape, int):
        return flat_layout(shape, max_texture_size)
    texels = texel_shape(shape)
    if len(texels) >= 3:
        width, height = shape_size(texels[2:]), texels[0] * texels[1]
    elif len(texels) == 2:
        width, height = texels[1], texels[0]
    else:
        width, height = texels[0], 1
    if width <= max_texture_size and height <= max_texture_size:
        return width, height
    return flat_layout(shape_size(texels), max_texture_size)


def float_literal(value: float) -> str:
    """A GLSL float literal with full repr precision that always has a point: 1 -> '1.0'."""
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"float_literal: GLSL has no literal for {value!r}")
    text = repr(value)
    if "e" in text or "E" in text:
        mantissa, exponent = text.lower().split("e")
        if "." not in mantissa:
            mantissa += ".0"
        return f"{mantissa}e{exponent}"
    if "." not in text:
        text += ".0"
    return text


def load_template(name: str) -> str:
    """Text of `shaders/<name>.glsl`, from the installed wheel or from the repository.

    The one place that decides where templates come from: the wheel packs them as
    `webgl_backend/shaders/`, a checkout keeps them in `shaders/` beside the package.
    """
    cached = _TEMPLATE_CACHE.get(name)
    if cached is not None:
        return cached
    filename = f"{name}.glsl"
    packaged = resources.files("webgl_backend").joinpath("shaders", filename)
    if packaged.is_file():
        text = packaged.read_text(encoding="utf-8")
    else:
        repo_path = Path(__file__).resolve().parent.parent / "shaders" / filename
        if not repo_path.is_file():
            raise FileNotFoundError(
                f"shader template {filename!r} is neither in the package (webgl_backend/shaders/) "
                f"nor in the repository ({repo_path.parent})"
            )
        text = repo_path.read_text(encoding="utf-8")
    _TEMPLATE_CACHE[name] = text
    return text


def fill_template(name: str, values: dict[str, object]) -> str:
    """Substitute `${NAME}` placeholders of template `name`; every one must be given."""
    template = string.Template(load_template(name))
    try:
        text = template.substitute({key: str(value) for key, value in values.items()})
    except KeyError as error:
        raise ValueError(
            f"shader template {name!r}: placeholder ${{{error.args[0]}}} has no value "
            f"(given: {', '.join(sorted(values))})"
        ) from None
    if "$" in text:
        line_number = text[: text.index("$")].count("\n") + 1
        raise ValueError(
            f"shader template {name!r}: a '$' is left after substitution at line {line_number}: "
            f"{text.splitlines()[line_number - 1].strip()!r}"
        )
    return text


def _accessor(name: str, shape: tuple[int, ...], width: int) -> str:
    """`vec4 <name>_at(...)`: the texel holding last-axis values 4*c4 .. 4*c4+3, by logical
    coordinates; division-free in the row layout. Parameters are prefixed `at_` so they
    never shadow a sampler named x or kernel."""
    texels = texel_shape(shape)
    if len(shape) == 4:
        _, h, w, c4 = texels
        args = "int at_n, int at_y, int at_x, int at_c4"
        if width == w * c4:
            body = f"{name}_fetch(ivec2(at_x * {c4} + at_c4, at_n * {h} + at_y))"
        else:
            body = f"{name}_texel(((at_n * {h} + at_y) * {w} + at_x) * {c4} + at_c4)"
    elif len(shape) == 2:
        c4 = texels[1]
        args = "int at_row, int at_c4"
        if width == c4:
            body = f"{name}_fetch(ivec2(at_c4, at_row))"
        else:
            body = f"{name}_texel(at_row * {c4} + at_c4)"
    elif len(shape) == 1:
        args = "int at_c4"
        body = (f"{name}_fetch(ivec2(at_c4, 0))" if width == texels[0]
                else f"{name}_texel(at_c4)")
    else:
        return ""
    return f"vec4 {name}_at({args}) {{ return {body}; }}"


def fetch_function(name: str, shape: tuple[int, ...], width: int) -> str:
    """GLSL `vec4 <name>_fetch(ivec2 p)`: the texel at p of input `name`.

    A nearest-filtered `texture()` at the texel centre, not `texelFetch`: in Chromium's
    SwiftShader the MLP's 784x512 dense forward ran 2-2.4x faster this way (the integer
    fetch pays a bounds check per lane); on GPUs both are one texture read. Textures have
    one level and NEAREST filters, so no level or filter choice can change the value;
    (p + 0.5) / size is within 1e-3 texel of the centre for sizes up to 8192.
    """
    height = -(-shape_size(texel_shape(shape)) // width)
    scale = f"vec2({float_literal(1.0 / width)}, {float_literal(1.0 / height)})"
    return (f"vec4 {name}_fetch(ivec2 p) {{ "
            f"return texture({name}, (vec2(p) + 0.5) * {scale}); }}")


def input_declarations(inputs: dict[str, tuple[tuple[int, ...], int]]) -> str:
    """Per input (name -> (shape, texture width)): a sampler, `<name>_fetch(ivec2 p)` by
    texel position, `<name>_texel(int t)` by flat texel index, and `<name>_at(...)` by
    logical coordinates (last axis in texels)."""
    lines = []
    for name, (shape, width) in inputs.items():
        lines.append(f"uniform sampler2D {name};  // shape {tuple(shape)}, texture width {width}")
        lines.append(fetch_function(name, shape, width))
        lines.append(f"vec4 {name}_texel(int t) {{ "
                     f"return {name}_fetch(ivec2(t % {width}, t / {width})); }}")
        accessor = _accessor(name, tuple(shape), width)
        if accessor:
            lines.append(accessor)
    return "\n".join(lines)


def output_coordinates(shape: tuple[int, ...], width: int) -> str:
    """GLSL `out_coords()`: logical coordinates of this fragment's output texel, last axis
    in texels ((n, y, x, c4) for 4-D, (row, c4) for 2-D, (0, c4) for 1-D), and
    `out_texel_index()`. Division by the texture width is needed only in the fallback."""
    texels = texel_shape(shape)
    lines = [f"int out_texel_index() {{ ivec2 p = ivec2(gl_FragCoord.xy); "
             f"return p.y * {width} + p.x; }}"]
    if len(texels) == 4:
        _, h, w, c4 = texels
        if width == w * c4:
            body = (f"ivec2 p = ivec2(gl_FragCoord.xy); "
                    f"return ivec4(p.y / {h}, p.y % {h}, p.x / {c4}, p.x % {c4});")
        else:
            body = (f"int t = out_texel_index(); int pixel = t / {c4}; int row = pixel / {w}; "
                    f"return ivec4(row / {h}, row % {h}, pixel % {w}, t % {c4});")
        lines.append(f"ivec4 out_coords() {{ {body} }}")
    elif len(texels) == 2:
        c4 = texels[1]
        if width == c4:
            body = "return ivec2(gl_FragCoord.yx);"
        else:
            body = f"int t = out_texel_index(); return ivec2(t / {c4}, t % {c4});"
        lines.append(f"ivec2 out_coords() {{ {body} }}")
    return "\n".join(lines)


def input_layouts(inputs: dict[str, tuple[int, ...]], widths: dict[str, int] | None,
                  max_texture_size: int) -> dict[str, tuple[tuple[int, ...], int]]:
    """name -> (shape, texture width): the default layout unless `widths` says otherwise
    (a reshaped view keeps the texture, and so the width, of the tensor it views)."""
    widths = widths or {}
    unknown = set(widths) - set(inputs)
    if unknown:
        raise ValueError(f"widths given for unknown inputs {sorted(unknown)}; inputs are "
                         f"{list(inputs)}")
    layouts = {}
    for name, shape in inputs.items():
        shape = tuple(int(d) for d in shape)
        layouts[name] = (shape, int(input_width(name, shape, widths, max_texture_size)))
    return layouts


def input_width(name: str, shape: tuple[int, ...], widths: dict[str, int] | None,
                max_texture_size: int) -> int:
    """Texture width of input `name`: `widths[name]` when given (a view keeps the texture
    of the tensor it views), else the default layout of `shape`."""
    return (widths or {}).get(name) or texture_layout(shape, max_texture_size)[0]


def build_program(
    name: str,
    template: str,
    inputs: dict[str, tuple[int, ...]],
    output_shape: tuple[int, ...],
    values: dict[str, object],
    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
    widths: dict[str, int] | None = None,
    outputs: int = 1,
) -> Program:
    """Prelude + input accessors + output coordinates + the filled op template.

    `values` fills the op template; OUT_TEXELS (texels of the output, to bound the
    fragments) and `<INPUT>_WIDTH` (each input's texture width) are added here.
    """
    output_shape = tuple(int(d) for d in output_shape)
    out_width, _ = texture_layout(output_shape, max_texture_size)
    layouts = input_layouts(inputs, widths, max_texture_size)
    fixed = {"OUT_WIDTH": out_width, "OUT_TEXELS": shape_size(texel_shape(output_shape))}
    fixed.update({f"{key.upper()}_WIDTH": width for key, (_, width) in layouts.items()})
    body = fill_template(template, {**fixed, **values})
    source = "\n".join([
        load_template("prelude").rstrip("\n"),
        f"// ---- {name}: output shape {output_shape}, texture width {out_width}",
        input_declarations(layouts),
        output_coordinates(output_shape, out_width),
        body,
    ])
    program = Program(name, source, tuple(inputs), output_shape,
                      tuple(width for _, width in layouts.values()), out_width, outputs)
    if os.environ.get(DUMP_ENV_VAR, "") not in ("", "0"):
        print(f"==== {name} {output_shape}\n{numbered_source(source)}", file=sys.stdout)
    return program


LANE_MASK = ("vec4 lane_mask(int first, int count) {\n"
             "  return vec4(lessThan(ivec4(first) + ivec4(0, 1, 2, 3), ivec4(count)));\n}")


def elementwise_reads(out_shape: tuple[int, ...], names: tuple[str, ...],
                      max_texture_size: int, widths: dict[str, int] | None) -> dict[str, str]:
    """For a program writing texel t from texel t of each input (dx from dy and x or y):
    `<NAME>_VALUE` per input, and `TAIL_MASK`, which zeroes dx's padding lanes."""
    out_width = texture_layout(out_shape, max_texture_size)[0]
    widths = widths or {}
    values = {}
    for name in names:
        # Same layout as the output: texel t sits where output texel t does.
        same = (widths.get(name) or out_width) == out_width
        values[f"{name.upper()}_VALUE"] = (f"{name}_fetch(ivec2(gl_FragCoord.xy))" if same
                                           else f"{name}_texel(t)")
    last = out_shape[-1]
    c4 = -(-last // 4)
    values["TAIL_MASK"] = ("" if last % 4 == 0
                           else f"  if (t % {c4} == {c4 - 1}) dx *= {tail_mask(last)};")
    return values


def tail_mask(count: int) -> str:
    """GLSL vec4 literal keeping the valid lanes of the last texel of an axis of `count`."""
    rest = count % 4 or 4
    return "vec4(" + ", ".join("1.0" if j < rest else "0.0" for j in range(4)) + ")"


def lanes(count: int) -> str:
    """The first `count` (1-4) components of a vec4 as a swizzle: 3 -> 'xyz'."""
    return "xyzw"[:count]


def tail_terms(count: int, weight: str, packed: str = "xs") -> str:
    """GLSL sum over the real lanes of the last texel of an axis of `count` values (count % 4
    of them; the other lanes are padding): `xs.x * W(4f) + xs.y * W(4f + 1) ...`, f =
    count // 4, where `weight` is a format string with `{i}` for the index on that axis."""
    full = count // 4
    return " + ".join(f"{packed}.{lane} * {weight.format(i=4 * full + j)}"
                      for j, lane in enumerate(lanes(count % 4)))


# -- inputs of the weighted layers (dense, conv2d) ----------------------------------------


def layer_inputs(op: str, x_shape: tuple[int, ...], kernel_shape: tuple[int, ...],
                 bias_shape: tuple[int, ...] | None) -> dict[str, tuple[int, ...]]:
    """{'x', 'kernel'} plus 'bias' when given; a bias must be (units,) for a kernel
    (..., units)."""
    inputs = {"x": x_shape, "kernel": kernel_shape}
    if bias_shape is not None:
        bias_shape = tuple(int(d) for d in bias_shape)
        units = kernel_shape[-1]
        if bias_shape != (units,):
            raise ShapeError(
                f"{op}: bias must have shape ({units},) to match kernel {kernel_shape}, "
                f"got {bias_shape}"
            )
        inputs["bias"] = bias_shape
    return inputs


def bias_init(inputs: dict[str, tuple[int, ...]], texel: str) -> str:
    """GLSL start value of a layer's sum: `bias_at(<texel>)` with a bias input, else zero."""
    return f"bias_at({texel})" if "bias" in inputs else "vec4(0.0)"


def numbered_source(source: str, first: int = 1, last: int | None = None,
                    mark: int | None = None) -> str:
    """Lines `first`..`last` of `source` (1-based) with line numbers; `mark` gets a '>'."""
    lines = source.splitlines()
    last = len(lines) if last is None else min(last, len(lines))
    first = max(first, 1)
    out = []
    for number in range(first, last + 1):
        pointer = ">" if number == mark else " "
        out.append(f"{pointer}{number:4d} | {lines[number - 1]}")
    return "\n".join(out)
