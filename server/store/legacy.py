"""meta.json as servers before the integrity check wrote it, upgraded once, at start.

    {"name", "base", "created", "parameters", "size_bytes", "files": ["model.json", ...]}

Such a version has no digests to check, so it is upgraded only if it still reads as a
valid model with the model reader, its files are plain files (no links) listed as the
manifest lists them, and their sizes add up to `size_bytes`. Then each file's size and
sha256 are recorded and meta.json is replaced atomically; otherwise it is left as it is and
listed as damaged. A person's saved versions survive the upgrade of the server.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from webgl_backend.errors import ModelFormatError
from webgl_backend.model_format import read_model_dir, shard_paths

from server.store.integrity import (IntegrityError, checked_dir, checked_file, read_plain_file,
                                    sha256_of)
from server.store.meta import MAX_META_BYTES, StoredFile, meta_bytes
from server.store.names import META_JSON, MODEL_JSON, is_file_name, is_model_name, version_number

log = logging.getLogger("shadernet.server")


class LegacyMeta(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    base: str
    created: AwareDatetime
    parameters: int = Field(ge=0)
    size_bytes: int = Field(ge=0)
    files: list[str] = Field(min_length=1)


def upgrade_legacy_versions(store_dir: Path) -> list[Path]:
    """Upgrade every sound legacy version under `store_dir`; return the folders upgraded."""
    upgraded = []
    for model in sorted(store_dir.iterdir()):
        if not is_model_name(model.name) or model.is_symlink() or not model.is_dir():
            continue
        for folder in sorted(model.iterdir()):
            if version_number(folder.name) is None:
                continue
            try:
                if _upgrade(store_dir, model.name, folder.name):
                    upgraded.append(folder)
            except (IntegrityError, ModelFormatError, OSError, ValueError) as error:
                log.warning("saved version %s has an old meta.json and cannot be upgraded: %s",
                            folder, error)
    return upgraded


def _upgrade(store_dir: Path, name: str, version: str) -> bool:
    folder = checked_dir(store_dir, name, version)
    try:
        legacy = LegacyMeta.model_validate_json(read_plain_file(folder, META_JSON, MAX_META_BYTES))
    except (ValidationError, IntegrityError):
        return False  # current format, or damaged: the catalog says which
    files = legacy.files
    if legacy.name != name or not is_model_name(legacy.base):
        raise ValueError(f"{META_JSON} names model {legacy.name!r} with base {legacy.base!r}")
    if files[0] != MODEL_JSON or not all(is_file_name(file) for file in files):
        raise ValueError(f"{META_JSON} lists files {files[:5]!r}")
    sizes = {file: checked_file(folder, file).st_size for file in files}
    if sum(sizes.values()) != legacy.size_bytes:
        raise ValueError(f"files hold {sum(sizes.values())} bytes, {META_JSON} recorded "
                         f"{legacy.size_bytes}")
    artifacts = read_model_dir(folder)
    if [MODEL_JSON, *shard_paths(artifacts.model_json)] != files:
        raise ValueError(f"{META_JSON} lists {files!r}, model.json's manifest differs")
    records = [StoredFile(name=file, size=sizes[file], sha256=sha256_of(folder / file))
               for file in files]
    temporary = folder / f".{META_JSON}.upgrade"
    temporary.write_bytes(meta_bytes(name, legacy.base, legacy.created, legacy.parameters,
                                     records))
    os.replace(temporary, folder / META_JSON)
    log.info("saved version %s: meta.json upgraded (sizes and sha256 recorded)", folder)
    return True
