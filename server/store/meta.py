"""meta.json: what a saved version is, validated by pydantic on every read.

    {"format": 1, "name": "mine", "base": "default", "created": "2026-12-01T20:00:00+00:00",
     "parameters": 6370, "files": [{"name": "model.json", "size": 3823, "sha256": "..."}, ...]}

`files` lists model.json first, then the shards in manifest order, each with the size and
sha256 recorded when it was written; the store checks them before it lists or serves the
version. A meta.json that does not parse into this model makes the version "damaged".
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from server.store.names import (FILE_NAME_RULE, META_JSON, MODEL_JSON, NAME_RULE, is_file_name,
                                is_model_name)

MAX_META_BYTES = 1024 * 1024
SHA256_HEX = frozenset("0123456789abcdef")


class StoredFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    size: int = Field(ge=0)
    sha256: str = Field(min_length=64, max_length=64)

    @field_validator("name")
    @classmethod
    def _plain_file_name(cls, name: str) -> str:
        if not is_file_name(name) or name == META_JSON:
            raise ValueError(f"file name {name[:80]!r} breaks the rule: {FILE_NAME_RULE}")
        return name

    @field_validator("sha256")
    @classmethod
    def _lowercase_hex(cls, digest: str) -> str:
        if not set(digest) <= SHA256_HEX:
            raise ValueError("sha256 must be 64 lowercase hex digits")
        return digest


class VersionMeta(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal[1] = 1
    name: str
    base: str | None  # None: trained from scratch, not fine-tuned from a model
    created: AwareDatetime
    parameters: int = Field(ge=0)
    files: tuple[StoredFile, ...] = Field(min_length=1, max_length=4097)

    @field_validator("name", "base")
    @classmethod
    def _model_name(cls, name: str | None) -> str | None:
        if name is not None and not is_model_name(name):
            raise ValueError(f"model name {name[:80]!r} breaks the rule: {NAME_RULE}")
        return name

    @field_validator("files")
    @classmethod
    def _model_json_first_no_repeats(cls, files: tuple[StoredFile, ...]) -> tuple[StoredFile, ...]:
        names = [record.name for record in files]
        if names[0] != MODEL_JSON or MODEL_JSON in names[1:]:
            raise ValueError(f"files must list {MODEL_JSON} first and once")
        if len(set(names)) != len(names):
            raise ValueError("files lists a name twice")
        return files

    @property
    def size_bytes(self) -> int:
        return sum(record.size for record in self.files)

    @property
    def file_names(self) -> tuple[str, ...]:
        return tuple(record.name for record in self.files)


class MetaError(ValueError):
    """meta.json is missing, too large, not JSON or not a VersionMeta; says which."""


def read_meta(data: bytes) -> VersionMeta:
    """Validate meta.json's bytes (read by the caller without following links)."""
    if len(data) > MAX_META_BYTES:
        raise MetaError(f"{META_JSON} is {len(data)} bytes, over {MAX_META_BYTES}")
    try:
        return VersionMeta.model_validate_json(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "the top level"
        raise MetaError(f"{META_JSON}: {where}: {first.get('msg', 'invalid')} "
                        f"({error.error_count()} problem(s))") from None


def meta_bytes(name: str, base: str | None, created: datetime, parameters: int,
               files: list[StoredFile]) -> bytes:
    meta = VersionMeta(name=name, base=base, created=created, parameters=parameters,
                       files=tuple(files))
    return json.dumps(meta.model_dump(mode="json"), indent=1).encode("utf-8")
