"""Codegen: GLSL ES 3.00 fragment shaders from `shaders/` templates plus baked-in shapes.

A `Program` is a description only (name, source, input names, output shape); compiling,
caching and drawing it happen in `context.py`. Every builder here is pure: no GL calls,
no globals apart from the template cache, so it runs the same in CPython and Pyodide.

Tensors are R32F textures, one float per texel, flat NHWC row-major; `texture_layout`
decides the (width, height) of a tensor from its shape, and a program bakes every
texture width it reads or writes in as a literal.

Set the environment variable SHADERNET_DUMP_SHADERS=1 (in the page: `os.environ`) to
print every generated source as it is built.
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
    """

    name: str
    source: str
    inputs: tuple[str, ...]
    output_shape: tuple[int, ...]
    input_widths: tuple[int, ...] = ()
    output_width: int = 0

    @property
    def output_size(self) -> int:
        return shape_size(self.output_shape)


def shape_size(shape: tuple[int, ...]) -> int:
    """Number of elements of a tensor of this shape."""
    return math.prod(shape)


def flat_layout(size: int, max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE) -> tuple[int, int]:
    """(width, height) of the near-square texture holding `size` floats (the fallback layout)."""
    if size < 1:
        raise ShapeError(f"texture_layout: a tensor needs at least one element, got size={size}")
    width = min(math.isqrt(size - 1) + 1, max_texture_size)
    height = -(-size // width)
    if height > max_texture_size:
        raise ShapeError(
            f"texture_layout: {size} floats need a {width}x{height} texture, larger than "
            f"MAX_TEXTURE_SIZE={max_texture_size}"
        )
    return width, height


def texture_layout(shape, max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE) -> tuple[int, int]:
    """(width, height) of the R32F texture for a tensor of `shape` (or of `size` floats).

    Always flat row-major: element i at texel (i mod width, i div width). The width is
    chosen so shaders can address elements without integer division, which SwiftShader
    and many GPUs pay dearly for: an NHWC tensor (n, h, w, c) gets width w*c (texel
    (x*c + ch, n*h + y)); a matrix (rows, cols) gets width cols; a vector is one row.
    When that does not fit in max_texture_size, a near-square layout (`flat_layout`)
    is used and shaders fall back to division. An int is a flat size: near-square.
    """
    if isinstance(shape, int):
        return flat_layout(shape, max_texture_size)
    shape = tuple(int(d) for d in shape)
    size = shape_size(shape)
    if size < 1 or not shape:
        raise ShapeError(f"texture_layout: a tensor needs at least one element, got shape {shape}")
    if len(shape) >= 3:
        width, height = shape_size(shape[2:]), shape[0] * shape[1]
    elif len(shape) == 2:
        width, height = shape[1], shape[0]
    else:
        width, height = shape[0], 1
    if width <= max_texture_size and height <= max_texture_size:
        return width, height
    return flat_layout(size, max_texture_size)


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
    """`<name>_at(...)`: element by logical coordinates, division-free in the row layout.

    Parameters are prefixed `at_` so they never shadow a sampler named x or kernel.
    """
    if len(shape) == 4:
        _, h, w, c = shape
        args = "int at_n, int at_y, int at_x, int at_c"
        if width == w * c:
            body = f"texelFetch({name}, ivec2(at_x * {c} + at_c, at_n * {h} + at_y), 0).r"
        else:
            body = f"get_{name}(((at_n * {h} + at_y) * {w} + at_x) * {c} + at_c)"
    elif len(shape) == 2:
        args = "int at_row, int at_col"
        if width == shape[1]:
            body = f"texelFetch({name}, ivec2(at_col, at_row), 0).r"
        else:
            body = f"get_{name}(at_row * {shape[1]} + at_col)"
    else:
        return ""
    return f"float {name}_at({args}) {{ return {body}; }}"


def input_declarations(inputs: dict[str, tuple[tuple[int, ...], int]]) -> str:
    """Per input (name -> (shape, texture width)): a sampler, `get_<name>(int i)` by flat
    index, and for 2-D/4-D inputs `<name>_at(...)` by logical coordinates."""
    lines = []
    for name, (shape, width) in inputs.items():
        lines.append(f"uniform sampler2D {name};  // shape {tuple(shape)}, texture width {width}")
        lines.append(f"float get_{name}(int i) {{ return fetch_flat({name}, {width}, i); }}")
        accessor = _accessor(name, tuple(shape), width)
        if accessor:
            lines.append(accessor)
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
        width = widths.get(name) or texture_layout(shape, max_texture_size)[0]
        layouts[name] = (shape, int(width))
    return layouts


def build_program(
    name: str,
    template: str,
    inputs: dict[str, tuple[int, ...]],
    output_shape: tuple[int, ...],
    values: dict[str, object],
    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
    widths: dict[str, int] | None = None,
) -> Program:
    """Prelude + input accessors + the filled op template, as a `Program`.

    `values` fills the op template; OUT_WIDTH and SIZE (the output's texture width and
    element count) are added here so every template can bound its fragments, and
    `<INPUT>_WIDTH` (upper-cased input name) gives each input's texture width.
    """
    output_shape = tuple(int(d) for d in output_shape)
    size = shape_size(output_shape)
    out_width, _ = texture_layout(output_shape, max_texture_size)
    layouts = input_layouts(inputs, widths, max_texture_size)
    fixed = {"OUT_WIDTH": out_width, "SIZE": size}
    fixed.update({f"{key.upper()}_WIDTH": width for key, (_, width) in layouts.items()})
    body = fill_template(template, {**fixed, **values})
    source = "\n".join([
        load_template("prelude").rstrip("\n"),
        f"// ---- {name}: output shape {output_shape}, texture width {out_width}",
        input_declarations(layouts),
        body,
    ])
    program = Program(name, source, tuple(inputs), output_shape,
                      tuple(width for _, width in layouts.values()), out_width)
    if os.environ.get(DUMP_ENV_VAR, "") not in ("", "0"):
        print(f"==== {name} {output_shape}\n{numbered_source(source)}", file=sys.stdout)
    return program


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
