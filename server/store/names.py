"""Names the store accepts: model names, version names and file names, each a full match.

Full matches (`re.fullmatch`), not `^...$` with `re.match`: '$' also matches before a
trailing newline, so 'shard.bin\\n' would pass and be stored under a name nothing can load.
"""

from __future__ import annotations

import re

from server.store.errors import InvalidNameError, NotFoundError

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
NAME_RULE = ("1 to 64 characters: lowercase letters, digits, '_' or '-', "
             "starting with a letter or digit")
SHIPPED = "shipped"
VERSION_PATTERN = re.compile(r"v([1-9][0-9]{0,8})")
FILE_NAME_PATTERN = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")
FILE_NAME_RULE = ("1 to 128 characters: letters, digits, '.', '_' or '-', not starting "
                  "with '.'; no folders")
MODEL_JSON = "model.json"
META_JSON = "meta.json"
RESERVED_FILES = frozenset({MODEL_JSON, META_JSON})


def is_model_name(name: object) -> bool:
    return isinstance(name, str) and NAME_PATTERN.fullmatch(name) is not None


def is_file_name(name: object) -> bool:
    return isinstance(name, str) and FILE_NAME_PATTERN.fullmatch(name) is not None


def version_number(name: str) -> int | None:
    """N for a folder named 'v<N>', else None."""
    match = VERSION_PATTERN.fullmatch(name)
    return int(match.group(1)) if match else None


def shown(value: object, limit: int = 80) -> str:
    """`value` for a message: repr'd, cut at `limit` characters."""
    text = value if isinstance(value, str) else str(value)
    return repr(text if len(text) <= limit else text[:limit] + "...")


def check_name(name: str, what: str = "model name") -> str:
    """Return `name` if it follows NAME_PATTERN; else InvalidNameError naming the rule."""
    if not is_model_name(name):
        raise InvalidNameError(f"{what} {shown(name)} is not allowed: use {NAME_RULE} "
                               "(no '/', '..' or absolute paths)")
    return name


def split_pinned(version: str) -> tuple[str, str | None]:
    """'shipped@<token>' -> ('shipped', token); any other version -> (version, None).

    A pinned URL names the shipped files by a digest of their content (ModelVersion.
    content_token), so it can be cached for good; the plain 'shipped' one is revalidated."""
    base, mark, token = version.partition("@")
    return (base, token) if mark else (version, None)


def check_version(version: str) -> str:
    if version != SHIPPED and version_number(version) is None:
        raise NotFoundError(f"version {shown(version)} does not exist: versions are 'shipped' "
                            "or 'v1', 'v2', ...")
    return version
