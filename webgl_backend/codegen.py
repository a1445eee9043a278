"""Codegen: GLSL ES 3.00 fragment shaders from `shaders/` templates plus baked-in shapes.

A `Program` is a description only (name, source, input names, output shape); compiling,
caching and drawing it happen in `context.py`. Every builder here is pure: no GL calls,
no globals apart from the template cache, so it runs the same in CPython and Pyodide.

Tensors are R32F textures, one float per texel, flat NHWC row-major; `texture_layout`
decides the (width, height) of a tensor from its element count alone, so a program
specialised for some shapes knows every texture width it reads as a literal.

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
    is the logical NHWC shape of the tensor the program writes.
    """

    name: str
    source: str
    inputs: tuple[str, ...]
    output_shape: tuple[int, ...]

    @property
    def output_size(self) -> int:
        return shape_size(self.output_shape)


def shape_size(shape: tuple[int, ...]) -> int:
    """Number of elements of a tensor of this shape."""
    return math.prod(shape)


def texture_layout(size: int, max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE) -> tuple[int, int]:
    """(width, height) of the near-square R32F texture holding `size` floats.

    Near-square outputs draw faster than long strips (ENVIRONMENT.md); rows wrap once
    the width reaches `max_texture_size`.
    """
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


def input_declarations(inputs: dict[str, tuple[int, ...]], max_texture_size: int) -> str:
    """A sampler and a `get_<name>(int i)` accessor per input, texture widths baked in."""
    lines = []
    for name, shape in inputs.items():
        width, _ = texture_layout(shape_size(shape), max_texture_size)
        lines.append(f"uniform sampler2D {name};  // shape {tuple(shape)}")
        lines.append(f"float get_{name}(int i) {{ return fetch_flat({name}, {width}, i); }}")
    return "\n".join(lines)


def build_program(
    name: str,
    template: str,
    inputs: dict[str, tuple[int, ...]],
    output_shape: tuple[int, ...],
    values: dict[str, object],
    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
) -> Program:
    """Prelude + input accessors + the filled op template, as a `Program`.

    `values` fills the op template; OUT_WIDTH and SIZE (the output's texture width and
    element count) are added here so every template can bound its fragments.
    """
    output_shape = tuple(int(d) for d in output_shape)
    size = shape_size(output_shape)
    out_width, _ = texture_layout(size, max_texture_size)
    body = fill_template(template, {"OUT_WIDTH": out_width, "SIZE": size, **values})
    source = "\n".join([
        load_template("prelude").rstrip("\n"),
        f"// ---- {name}: output shape {output_shape}",
        input_declarations(inputs, max_texture_size),
        body,
    ])
    program = Program(name, source, tuple(inputs), output_shape)
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
