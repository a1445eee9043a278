"""Reading the store: shipped models and saved versions, each checked before it is listed.

    models_dir/<name>/model.json + shards        version "shipped", never written
    store_dir/<name>/v<N>/model.json + shards     versions "v1", "v2", ... plus meta.json

A shipped model is validated with the model reader (once per state of its files). A saved
version is listed only if its meta.json is a valid VersionMeta and every file it records is
a plain file of the recorded size and sha256 (integrity.py). Anything else is "damaged":
skipped, logged once, never an error for the person asking. Nothing is followed through a
symbolic link, and no path outside the two roots is ever returned.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from webgl_backend.errors import ModelFormatError
from webgl_backend.model_format import read_model_dir, shard_paths

from server.store.errors import ConflictError, NotFoundError
from server.store.integrity import (FileVerifier, IntegrityError, checked_dir, checked_file,
                                    read_plain_file, sha256_of)
from server.store.meta import MAX_META_BYTES, MetaError, VersionMeta, read_meta
from server.store.names import (META_JSON, MODEL_JSON, SHIPPED, check_name, check_version,
                                is_model_name, shown, version_number)
from server.store.topology import Topology, topology_of

log = logging.getLogger("shadernet.server")


@dataclass(frozen=True)
class ModelVersion:
    """One stored version. `version` is "shipped" or "v<N>"; `files` lists model.json first."""

    name: str
    version: str
    folder: Path
    created: datetime
    size_bytes: int
    base: str | None
    parameters: int
    files: tuple[str, ...]
    model_json_sha256: str
    # Shipped versions: a digest of every file's content, so that a URL naming it can be
    # cached for good (names.pinned_version); saved versions never change and need none.
    content_token: str = ""

    @property
    def read_only(self) -> bool:
        return self.version == SHIPPED


@dataclass(frozen=True)
class _Shipped:
    """A shipped model as read and validated, valid while its files keep these states."""

    states: tuple
    version: ModelVersion
    topology: Topology


class Catalog:
    """Shipped models under `models_dir`, saved versions under `store_dir`, read-only view."""

    def __init__(self, models_dir: Path, store_dir: Path) -> None:
        self.models_dir = Path(models_dir)
        self.store_dir = Path(store_dir)
        self.verifier = FileVerifier()
        self._shipped: dict[str, _Shipped] = {}
        self._topologies: dict[str, Topology] = {}  # model.json sha256 -> its topology
        self._logged: set[str] = set()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ queries

    def list_models(self) -> dict[str, list[ModelVersion]]:
        """Every model name with a sound version -> its versions (shipped first, then v1...)."""
        listing = {}
        for name in sorted(set(self._shipped_names()) | set(self._saved_names())):
            versions = self.versions(name)
            if versions:
                listing[name] = versions
        return listing

    def get_model(self, name: str) -> list[ModelVersion]:
        check_name(name)
        versions = self.versions(name)
        if not versions:
            raise NotFoundError(f"model '{name}' does not exist (known models: "
                                f"{self.known_names_text()})")
        return versions

    def get_version(self, name: str, version: str) -> ModelVersion:
        check_name(name)
        check_version(version)
        versions = self.get_model(name)
        for candidate in versions:
            if candidate.version == version:
                return candidate
        raise NotFoundError(f"model '{name}' has no version '{version}' (its versions: "
                            f"{', '.join(v.version for v in versions)})")

    def file_path(self, name: str, version: str, file: str) -> tuple[ModelVersion, Path]:
        """The version and the path of one of its files, checked again just before serving."""
        found = self.get_version(name, version)
        if file not in found.files:
            raise NotFoundError(f"model '{name}' version '{version}' has no file {shown(file)} "
                                f"(its files: {', '.join(found.files)})")
        # Listed a moment ago, but the file may have changed since: look once more.
        if self._recheck(found) is None:
            raise NotFoundError(f"model '{name}' version '{version}' is damaged on the server "
                                "and cannot be served (the server log says why)")
        return found, found.folder / file

    def versions(self, name: str) -> list[ModelVersion]:
        shipped = self.shipped_version(name)
        return ([shipped] if shipped else []) + self.saved_versions(name)

    def known_names_text(self) -> str:
        names = sorted(set(self._shipped_names()) | set(self._saved_names()))
        return ", ".join(names) if names else "none"

    def topology(self, version: ModelVersion) -> Topology:
        with self._lock:
            known = self._topologies.get(version.model_json_sha256)
        if known is not None:
            return known
        message = None
        try:
            topology = topology_of(read_model_dir(version.folder))
        except (ModelFormatError, OSError) as error:
            message = f"{version.name} {version.version} on the server cannot be read ({error})"
        if message is not None:
            self._log_once(message)
            raise ConflictError(message + "; choose another base or name")
        self.remember_topology(version.model_json_sha256, topology)
        return topology

    def remember_topology(self, model_json_sha256: str, topology: Topology) -> None:
        with self._lock:
            self._topologies[model_json_sha256] = topology

    # ------------------------------------------------------------------ shipped

    def _shipped_names(self) -> list[str]:
        if not self.models_dir.is_dir():
            return []
        return [p.name for p in self.models_dir.iterdir()
                if is_model_name(p.name) and (p / MODEL_JSON).is_file()]

    def shipped_version(self, name: str) -> ModelVersion | None:
        folder = self.models_dir / name
        if not (folder / MODEL_JSON).exists():
            return None
        try:
            checked_dir(self.models_dir, name)
            with self._lock:
                known = self._shipped.get(name)
            if known is not None and known.states == _states(folder, known.version.files):
                return known.version
            shipped = self._read_shipped(name, folder)
        except (ModelFormatError, IntegrityError, OSError) as error:
            self._log_once(f"shipped model {folder} is skipped: {error}")
            return None
        with self._lock:
            self._shipped[name] = shipped
        self.remember_topology(shipped.version.model_json_sha256, shipped.topology)
        return shipped.version

    def _read_shipped(self, name: str, folder: Path) -> _Shipped:
        checked_file(folder, MODEL_JSON)
        artifacts = read_model_dir(folder)
        files = (MODEL_JSON, *shard_paths(artifacts.model_json))
        states = _states(folder, files)  # also refuses links and non-files among the shards
        parameters = sum(math.prod(entry.shape) for entry in artifacts.weight_entries)
        created = datetime.fromtimestamp(states[0][3] / 1e9, timezone.utc)
        digests = [sha256_of(folder / file) for file in files]
        token = hashlib.sha256(" ".join(digests).encode()).hexdigest()[:16]
        version = ModelVersion(name, SHIPPED, folder, created, sum(s[2] for s in states), None,
                               parameters, files, digests[0], token)
        return _Shipped(states, version, topology_of(artifacts))

    # ------------------------------------------------------------------ saved

    def _saved_names(self) -> list[str]:
        names = []
        for path in self.store_dir.iterdir():
            if is_model_name(path.name) and path.is_dir() and not path.is_symlink():
                names.append(path.name)
        return names

    def saved_versions(self, name: str) -> list[ModelVersion]:
        try:
            folder = checked_dir(self.store_dir, name)
        except IntegrityError as error:
            if (self.store_dir / name).exists() or (self.store_dir / name).is_symlink():
                self._log_once(f"saved model {self.store_dir / name} is skipped: {error}")
            return []
        numbered = sorted((number, path.name) for path in folder.iterdir()
                          if (number := version_number(path.name)) is not None)
        versions = []
        for number, folder_name in numbered:
            version = self._saved_version(name, folder_name)
            if version is not None:
                versions.append(version)
        return versions

    def _saved_version(self, name: str, folder_name: str) -> ModelVersion | None:
        path = self.store_dir / name / folder_name
        try:
            checked_dir(self.store_dir, name, folder_name)
            meta = read_meta(read_plain_file(path, META_JSON, MAX_META_BYTES))
            if meta.name != name:
                raise MetaError(f"{META_JSON} names model {meta.name!r}, the folder is {name!r}")
            for record in meta.files:
                self.verifier.verify(path, record)
        except (IntegrityError, MetaError, OSError) as error:
            self._log_once(f"saved version {path} is damaged and skipped: {error}")
            return None
        return _version_of(name, folder_name, path, meta)

    def _recheck(self, version: ModelVersion) -> ModelVersion | None:
        if version.read_only:
            return self.shipped_version(version.name)
        return self._saved_version(version.name, version.folder.name)

    def _log_once(self, message: str) -> None:
        with self._lock:
            if message in self._logged:
                return
            self._logged.add(message)
        log.warning(message)


def _version_of(name: str, folder_name: str, path: Path, meta: VersionMeta) -> ModelVersion:
    return ModelVersion(name, folder_name, path, meta.created, meta.size_bytes, meta.base,
                        meta.parameters, meta.file_names, meta.files[0].sha256)


def _states(folder: Path, files: tuple[str, ...]) -> tuple:
    """(name, inode, size, mtime_ns, ctime_ns) of each file; IntegrityError for a link."""
    states = []
    for file in files:
        info = checked_file(folder, file)
        states.append((file, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns))
    return tuple(states)
