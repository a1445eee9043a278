"""The store: the catalog (reading) plus saving and deleting versions, under a quota.

An upload is checked completely before anything is written (upload.py gives the order
that bounds its cost); the files then go to a staging folder and are renamed into place
(writer.py) with meta.json recording each file's size and sha256 (meta.py).
"""

from __future__ import annotations

import hashlib
import math
import shutil
import threading
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

from webgl_backend.errors import ModelFormatError
from webgl_backend.model_format import ModelArtifacts, read_model, shard_paths

from server.store import writer
from server.store.bounded_json import JsonLimitError, parse_json
from server.store.catalog import Catalog, ModelVersion
from server.store.errors import (ConflictError, InvalidNameError, InvalidUploadError,
                                 NotFoundError, QuotaExceededError, UploadTooLargeError)
from server.store.legacy import upgrade_legacy_versions
from server.store.meta import StoredFile, meta_bytes
from server.store.names import META_JSON, MODEL_JSON, SHIPPED, check_name, check_version
from server.store.topology import Topology, topology_difference, topology_of
from server.store.upload import (DeclaredModel, IncomingFile, check_files, check_metadata,
                                 check_sizes, declared_difference, declared_model)

Shards = Mapping[str, bytes | IncomingFile]


class ModelStore(Catalog):
    """Shipped models (read-only) and saved versions (append-only, deletable) on disk.

    max_store_bytes: the quota for all saved versions together (None: no quota).
    """

    def __init__(self, models_dir: Path, store_dir: Path, max_upload_bytes: int,
                 max_store_bytes: int | None = None) -> None:
        Path(store_dir).mkdir(parents=True, exist_ok=True)
        super().__init__(models_dir, store_dir)
        self.max_upload_bytes = max_upload_bytes
        self.max_store_bytes = max_store_bytes
        self._write_lock = threading.Lock()
        writer.remove_leftovers(self.store_dir)
        upgrade_legacy_versions(self.store_dir)

    # ------------------------------------------------------------------ saving

    def save_version(self, name: str, model_json: bytes, shards: Shards,
                     base: str | None = "default") -> ModelVersion:
        """Check an upload completely, then store it as `name`'s next version.

        `base` is the model it was fine-tuned from (its topology must match), or None for a
        model trained from scratch (any topology the reader accepts; later versions of
        `name` must keep it).

        `shards` maps each file name (as listed in the manifest) to its bytes or to an
        IncomingFile (size known, bytes read only once the declarations check out).
        """
        check_name(name)
        if self.shipped_version(name) is not None or (self.models_dir / name).exists():
            raise ConflictError(f"model '{name}' is shipped with the server and read-only; "
                                f"save your version under another name (e.g. '{name[:57]}-mine')")
        incoming = {file: data if isinstance(data, IncomingFile) else IncomingFile.of_bytes(data)
                    for file, data in shards.items()}
        size = len(model_json) + sum(file.size for file in incoming.values())
        if size > self.max_upload_bytes:
            raise UploadTooLargeError(f"upload holds {size} bytes of files, over the limit of "
                                      f"{self.max_upload_bytes} bytes")
        try:
            if base is not None:
                check_name(base, "base model name")
        except InvalidNameError as error:
            raise InvalidUploadError(str(error)) from None
        self._check_room(size)
        parsed = _parse(model_json)
        check_metadata(parsed)
        base_version = self._base_version(base) if base is not None else None
        existing = self.saved_versions(name)
        declared = declared_model(parsed)
        if declared is not None:
            self._check_declared(name, declared, incoming, base, base_version, existing)
        shard_bytes = {file: data.read() for file, data in incoming.items()}
        artifacts = _read(parsed, shard_bytes)
        paths = declared.paths() if declared else shard_paths(artifacts.model_json)
        if declared is None:  # the reader accepted what we could not pre-read: check now
            check_files(paths, {file: data.size for file, data in incoming.items()})
        topology = topology_of(artifacts)
        self._check_topology(name, topology, base, base_version, existing)
        model_json_sha256 = hashlib.sha256(model_json).hexdigest()
        self.remember_topology(model_json_sha256, topology)
        parameters = sum(math.prod(entry.shape) for entry in artifacts.weight_entries)
        files = [(MODEL_JSON, model_json)] + [(file, shard_bytes[file]) for file in paths]
        return self._write(name, base, parameters, files)

    def _base_version(self, base: str) -> ModelVersion:
        versions = self.versions(base)
        if not versions:
            raise InvalidUploadError(f"base model '{base}' does not exist (known models: "
                                     f"{self.known_names_text()})")
        return versions[-1]

    def _check_declared(self, name: str, declared: DeclaredModel, incoming: dict,
                        base: str | None, base_version: ModelVersion | None,
                        existing: list[ModelVersion]) -> None:
        """Refusals that need no shard byte: file names, topology, declared lengths."""
        sizes = {file: data.size for file, data in incoming.items()}
        check_files(declared.paths(), sizes)
        difference = (None if base_version is None
                      else declared_difference(declared, self.topology(base_version)))
        if difference is not None:
            raise InvalidUploadError(_base_mismatch(base, base_version, difference))
        if existing:
            difference = declared_difference(declared, self.topology(existing[-1]))
            if difference is not None:
                raise ConflictError(_name_conflict(name, existing[-1], difference))
        check_sizes(declared, sizes)

    def _check_topology(self, name: str, topology: Topology, base: str | None,
                        base_version: ModelVersion | None,
                        existing: list[ModelVersion]) -> None:
        difference = (None if base_version is None
                      else topology_difference(topology, self.topology(base_version)))
        if difference is not None:
            raise InvalidUploadError(_base_mismatch(base, base_version, difference))
        if existing:
            difference = topology_difference(topology, self.topology(existing[-1]))
            if difference is not None:
                raise ConflictError(_name_conflict(name, existing[-1], difference))

    def _check_room(self, size: int, staging: Path | None = None) -> None:
        if self.max_store_bytes is None:
            return
        if size > self.max_store_bytes:
            raise UploadTooLargeError(f"upload holds {size} bytes, more than the whole store's "
                                      f"quota of {self.max_store_bytes} bytes (--max-store-mb)")
        used = writer.usage_bytes(self.store_dir, exclude=staging)
        if used + size > self.max_store_bytes:
            raise QuotaExceededError(
                f"the store is full: it holds {used} of {self.max_store_bytes} bytes "
                f"(--max-store-mb) and this upload needs {size}; delete saved versions "
                "(DELETE /api/models/{name}/versions/{version}) or raise the quota")

    def _write(self, name: str, base: str | None, parameters: int,
               files: list[tuple[str, bytes]]) -> ModelVersion:
        records = [StoredFile(name=file, size=len(data), sha256=hashlib.sha256(data).hexdigest())
                   for file, data in files]
        created = datetime.now(timezone.utc)
        staging = writer.new_staging(self.store_dir)
        try:
            for file, data in files:
                writer.write_file(staging / file, data)
            writer.write_file(staging / META_JSON,
                              meta_bytes(name, base, created, parameters, records))
            with self._write_lock:  # one quota check and rename at a time (in this process)
                self._check_room(sum(record.size for record in records), staging)
                folder = writer.rename_into_place(staging, self.store_dir / name)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        version = self._saved_version(name, folder.name)
        if version is None:
            raise ConflictError(f"version {folder.name} of '{name}' was written but does not "
                                "read back intact; the server log says why")
        return version

    # ------------------------------------------------------------------ deleting

    def delete_version(self, name: str, version: str) -> ModelVersion:
        """Remove a saved version (never a shipped one); its number is never reused."""
        check_name(name)
        check_version(version)
        if version == SHIPPED:
            raise ConflictError(f"model '{name}' version 'shipped' ships with the server and "
                                "is read-only; only saved versions (v1, v2, ...) can be deleted")
        found = self.get_version(name, version)
        with self._write_lock:
            try:
                writer.delete_version_folder(self.store_dir, found.folder)
            except FileNotFoundError:
                raise NotFoundError(f"model '{name}' has no version '{version}' (it was just "
                                    "deleted)") from None
        self.verifier.forget(found.folder)
        return found



def _parse(model_json: bytes) -> dict:
    message = None
    try:
        parsed = parse_json(model_json)
    except JsonLimitError as error:
        message = str(error)
    if message is not None:
        raise InvalidUploadError(message)
    if not isinstance(parsed, dict):
        raise InvalidUploadError(f"model.json: the top level must be an object, got "
                                 f"{type(parsed).__name__}")
    return parsed


def _read(parsed: dict, shards: dict[str, bytes]) -> ModelArtifacts:
    """The reader's one validation and decode. Its error is turned into ours outside the
    `except` block, so no traceback keeps decoded weights alive after a refusal."""
    message = None
    try:
        return read_model(parsed, shards)
    except ModelFormatError as error:
        message = str(error)
    raise InvalidUploadError(message)


def _base_mismatch(base: str, base_version: ModelVersion, difference: str) -> str:
    return (f"model.json does not match the topology of its base '{base}' "
            f"({base_version.version}): {difference}")


def _name_conflict(name: str, latest: ModelVersion, difference: str) -> str:
    return (f"model '{name}' already holds versions of another topology "
            f"({latest.version}: {difference.replace('the base', 'it')}); "
            "save this one under a new name")
