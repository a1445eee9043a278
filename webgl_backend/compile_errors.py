"""The message of a shader that failed to compile or link: op, info log, and the numbered
source lines around the line the log points at."""

from __future__ import annotations

import re

from webgl_backend.codegen import numbered_source

_ERROR_LINE = re.compile(r"ERROR:\s*\d+:(\d+):")
# Source lines shown on each side of the line a compile error points at.
_CONTEXT_LINES = 4


def compile_message(op_name: str, stage: str, log: str, source: str) -> str:
    """'<op>: fragment shader failed to compile' + info log + numbered lines around the error."""
    match = _ERROR_LINE.search(log)
    if match:
        line = int(match.group(1))
        excerpt = numbered_source(source, line - _CONTEXT_LINES, line + _CONTEXT_LINES, mark=line)
        where = f"source lines around line {line}:"
    else:
        excerpt = numbered_source(source)
        where = "source:"
    what = "fragment shader failed to compile" if stage == "compile" else "program failed to link"
    if "vertex" in op_name:
        what = "vertex shader failed to compile"
    return f"{op_name}: {what}\ninfo log: {log or '(empty)'}\n{where}\n{excerpt}"
