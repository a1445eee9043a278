"""Model storage: shipped models (read-only) and saved versions (append-only), on disk.

    models_dir/<name>/model.json + shards        version "shipped", never written
    store_dir/<name>/v<N>/model.json + shards     versions "v1", "v2", ... plus meta.json

An upload is validated completely before anything is written: the name, the size, the
shard file names, the model itself with the same reader the page and the trainer use
(`webgl_backend.model_format.read_model`: schema, shapes, shard lengths, finite values),
and its topology against the base model's. Only then are the files written into a fresh
temporary folder inside the store and renamed to the next free `v<N>`. A rename onto an
existing version folder fails (it is never empty), so concurrent uploads to one name retry
with the next number and each lands whole, as its own version. Nothing here knows HTTP:
errors are `StoreError` subclasses that the routes map to status codes.
"""

from __future__ import annotations

import errno
import json
import logging
import math
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from webgl_backend.errors import ModelFormatError
from webgl_backend.model_format import (ModelArtifacts, parse_model_json, read_model,
                                        read_model_dir, shard_paths)

log = logging.getLogger("shadernet.server")

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
NAME_RULE = ("1 to 64 characters: lowercase letters, digits, '_' or '-', "
             "starting with a letter or digit")
SHIPPED = "shipped"
VERSION_PATTERN = re.compile(r"^v([1-9][0-9]{0,8})$")
MODEL_JSON = "model.json"
META_JSON = "meta.json"
RESERVED_FILES = frozenset({MODEL_JSON, META_JSON})
STAGING_PREFIX = ".upload-"
MAX_RENAME_ATTEMPTS = 10_000
# Settings that only matter while training from scratch; a fine-tuned copy may drop or change them.
TRAINING_ONLY_KEYS = frozenset({"trainable", "kernel_initializer", "bias_initializer",
                                "kernel_regularizer", "bias_regularizer", "activity_regularizer",
                                "kernel_constraint", "bias_constraint"})


# ----------------------------------------------------------------------------- errors

class StoreError(Exception):
    """Base of the storage errors; the message is one sentence for the person uploading."""


class InvalidNameError(StoreError, ValueError):
    """A model name or version in a URL breaks the naming rule."""


class NotFoundError(StoreError, LookupError):
    """No such model, version or file."""


class ConflictError(StoreError):
    """The request contradicts what is stored: a shipped name, a different topology."""


class UploadTooLargeError(StoreError, ValueError):
    """The upload is over the size limit."""


class InvalidUploadError(StoreError, ValueError):
    """The uploaded files are not a valid model, or not one compatible with its base."""


# ----------------------------------------------------------------------------- results

@dataclass(frozen=True)
class LayerTopology:
    """One layer as far as running it goes: class, name, config, shapes, weight shapes."""

    class_name: str
    name: str
    config: dict
    output_shape: tuple[int, ...]
    weights: tuple[tuple[str, tuple[int, ...]], ...]


@dataclass(frozen=True)
class Topology:
    input_shape: tuple[int, ...]
    layers: tuple[LayerTopology, ...]


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

    @property
    def read_only(self) -> bool:
        return self.version == SHIPPED


@dataclass(frozen=True)
class _Description:
    topology: Topology
    parameters: int
    files: tuple[str, ...]
    size_bytes: int


# ----------------------------------------------------------------------------- checks

def check_name(name: str, what: str = "model name") -> str:
    """Return `name` if it follows NAME_PATTERN; else InvalidNameError naming the rule."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        shown = name if isinstance(name, str) and len(name) <= 80 else f"{str(name)[:80]}..."
        raise InvalidNameError(f"{what} {shown!r} is not allowed: use {NAME_RULE} "
                               "(no '/', '..' or absolute paths)")
    return name


def check_version(version: str) -> str:
    if version != SHIPPED and not VERSION_PATTERN.match(version):
        raise NotFoundError(f"version {version[:80]!r} does not exist: versions are 'shipped' "
                            "or 'v1', 'v2', ...")
    return version


def topology_of(artifacts: ModelArtifacts) -> Topology:
    layers = tuple(
        LayerTopology(layer.class_name, layer.name,
                      {k: v for k, v in layer.config.items() if k not in TRAINING_ONLY_KEYS},
                      tuple(layer.output_shape),
                      tuple((name, tuple(shape)) for name, shape, _ in layer.weights))
        for layer in artifacts.layers)
    return Topology(tuple(artifacts.input_shape), layers)


def topology_difference(model: Topology, base: Topology) -> str | None:
    """The first difference between two topologies as a phrase, or None when they match."""
    if model.input_shape != base.input_shape:
        return f"input shape {list(model.input_shape)}, the base has {list(base.input_shape)}"
    for index, (layer, expected) in enumerate(zip(model.layers, base.layers)):
        where = f"layers[{index}] '{layer.name}'"
        if (layer.class_name, layer.name) != (expected.class_name, expected.name):
            return (f"layers[{index}] is {layer.class_name} '{layer.name}', the base has "
                    f"{expected.class_name} '{expected.name}'")
        for key in sorted(layer.config.keys() | expected.config.keys()):
            got, want = layer.config.get(key), expected.config.get(key)
            if got != want:
                return (f"{where}: config '{key}' is {json.dumps(got)}, "
                        f"the base has {json.dumps(want)}")
        if layer.weights != expected.weights:
            return (f"{where}: weights {_weights_text(layer.weights)}, the base has "
                    f"{_weights_text(expected.weights)}")
    if len(model.layers) != len(base.layers):
        return f"{len(model.layers)} layers, the base has {len(base.layers)}"
    return None


def _weights_text(weights) -> str:
    return ", ".join(f"{name} {list(shape)}" for name, shape in weights) or "none"


def _describe_artifacts(artifacts: ModelArtifacts, size_bytes: int) -> _Description:
    parameters = sum(math.prod(entry.shape) for entry in artifacts.weight_entries)
    files = (MODEL_JSON, *shard_paths(artifacts.model_json))
    return _Description(topology_of(artifacts), parameters, files, size_bytes)


# ----------------------------------------------------------------------------- the store

class ModelStore:
    """Shipped models under `models_dir`, saved versions under `store_dir`."""

    def __init__(self, models_dir: Path, store_dir: Path, max_upload_bytes: int) -> None:
        self.models_dir = Path(models_dir)
        self.store_dir = Path(store_dir)
        self.max_upload_bytes = max_upload_bytes
        self.store_dir.mkdir(parents=True, exist_ok=True)
        # Reading a model validates every weight; remember the summary per folder state.
        self._descriptions: dict[tuple[str, int, int], _Description] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ reading

    def list_models(self) -> dict[str, list[ModelVersion]]:
        """Every valid model name -> its versions (shipped first, then v1, v2, ...)."""
        names = set(self._shipped_names()) | set(self._saved_names())
        listing = {}
        for name in sorted(names):
            versions = self._versions(name)
            if versions:
                listing[name] = versions
        return listing

    def get_model(self, name: str) -> list[ModelVersion]:
        check_name(name)
        versions = self._versions(name)
        if not versions:
            raise NotFoundError(f"model '{name}' does not exist (known models: "
                                f"{self._known_names_text()})")
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
        """The version and the path of one of its files (model.json or a listed shard)."""
        found = self.get_version(name, version)
        if file not in found.files:
            raise NotFoundError(f"model '{name}' version '{version}' has no file {file[:80]!r} "
                                f"(its files: {', '.join(found.files)})")
        return found, found.folder / file

    def _shipped_names(self) -> list[str]:
        if not self.models_dir.is_dir():
            return []
        return [p.name for p in self.models_dir.iterdir()
                if NAME_PATTERN.match(p.name) and (p / MODEL_JSON).is_file()]

    def _saved_names(self) -> list[str]:
        return [p.name for p in self.store_dir.iterdir()
                if NAME_PATTERN.match(p.name) and p.is_dir()]

    def _known_names_text(self) -> str:
        names = sorted(set(self._shipped_names()) | set(self._saved_names()))
        return ", ".join(names) if names else "none"

    def _versions(self, name: str) -> list[ModelVersion]:
        versions = []
        shipped = self._shipped_version(name)
        if shipped is not None:
            versions.append(shipped)
        return versions + self._saved_versions(name)

    def _shipped_version(self, name: str) -> ModelVersion | None:
        folder = self.models_dir / name
        json_path = folder / MODEL_JSON
        if not json_path.is_file():
            return None
        try:
            description = self._describe_folder(folder)
        except (ModelFormatError, OSError) as error:
            log.warning("shipped model %s is skipped: %s", folder, error)
            return None
        created = datetime.fromtimestamp(json_path.stat().st_mtime, timezone.utc)
        return ModelVersion(name, SHIPPED, folder, created, description.size_bytes, None,
                            description.parameters, description.files)

    def _saved_versions(self, name: str) -> list[ModelVersion]:
        folder = self.store_dir / name
        if not folder.is_dir():
            return []
        numbered = sorted((int(m.group(1)), p) for p in folder.iterdir()
                          if (m := VERSION_PATTERN.match(p.name)))
        versions = []
        for number, path in numbered:
            try:
                meta = json.loads((path / META_JSON).read_text("utf-8"))
                versions.append(ModelVersion(
                    name, f"v{number}", path, datetime.fromisoformat(meta["created"]),
                    int(meta["size_bytes"]), meta["base"], int(meta["parameters"]),
                    tuple(meta["files"])))
            except (OSError, ValueError, KeyError, TypeError) as error:
                log.warning("saved version %s is skipped: unreadable %s (%s)",
                            path, META_JSON, error)
        return versions

    def _describe_folder(self, folder: Path) -> _Description:
        stat = (folder / MODEL_JSON).stat()
        key = (str(folder), stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._descriptions.get(key)
        if cached is not None:
            return cached
        artifacts = read_model_dir(folder)
        files = (MODEL_JSON, *shard_paths(artifacts.model_json))
        size = sum((folder / file).stat().st_size for file in files)
        description = _describe_artifacts(artifacts, size)
        with self._lock:
            self._descriptions[key] = description
        return description

    def topology(self, version: ModelVersion) -> Topology:
        return self._describe_folder(version.folder).topology

    # ------------------------------------------------------------------ writing

    def save_version(self, name: str, model_json: bytes, shards: dict[str, bytes],
                     base: str = "default") -> ModelVersion:
        """Validate an upload completely, then store it as `name`'s next version.

        `shards` maps each file name (as listed in the manifest) to its bytes.
        """
        check_name(name)
        if self._shipped_version(name) is not None or (self.models_dir / name).exists():
            raise ConflictError(f"model '{name}' is shipped with the server and read-only; "
                                f"save your version under another name (e.g. '{name[:57]}-mine')")
        self._check_size(model_json, shards)
        try:
            check_name(base, "base model name")
        except InvalidNameError as error:
            raise InvalidUploadError(str(error)) from None
        artifacts = self._read_upload(model_json, shards)
        size = len(model_json) + sum(len(data) for data in shards.values())
        description = _describe_artifacts(artifacts, size)
        self._check_against_base(description.topology, base)
        self._check_against_existing(name, description.topology)
        return self._write(name, model_json, shards, base, description)

    def _check_size(self, model_json: bytes, shards: dict[str, bytes]) -> None:
        total = len(model_json) + sum(len(data) for data in shards.values())
        if total > self.max_upload_bytes:
            raise UploadTooLargeError(f"upload holds {total} bytes of files, over the limit of "
                                      f"{self.max_upload_bytes} bytes")

    def _read_upload(self, model_json: bytes, shards: dict[str, bytes]) -> ModelArtifacts:
        try:
            expected = shard_paths(parse_model_json(model_json))
        except ModelFormatError as error:
            raise InvalidUploadError(str(error)) from None
        reserved = sorted(RESERVED_FILES & set(expected))
        if reserved:
            raise InvalidUploadError(f"model.json: weightsManifest lists shard '{reserved[0]}', "
                                     "a name reserved for the server "
                                     f"({', '.join(sorted(RESERVED_FILES))})")
        unexpected = sorted(set(shards) - set(expected))
        if unexpected:
            raise InvalidUploadError(f"shard file '{unexpected[0][:80]}' is not listed in "
                                     "model.json's weightsManifest "
                                     f"(it lists: {', '.join(expected)})")
        missing = [path for path in expected if path not in shards]
        if missing:
            raise InvalidUploadError(f"shard file '{missing[0]}' listed in model.json's "
                                     f"weightsManifest was not uploaded ({len(shards)} of "
                                     f"{len(expected)} shards received)")
        try:
            return read_model(model_json, shards)
        except ModelFormatError as error:
            raise InvalidUploadError(str(error)) from None

    def _check_against_base(self, topology: Topology, base: str) -> None:
        versions = self._versions(base)
        if not versions:
            raise InvalidUploadError(f"base model '{base}' does not exist (known models: "
                                     f"{self._known_names_text()})")
        reference = versions[-1]
        difference = topology_difference(topology, self.topology(reference))
        if difference is not None:
            raise InvalidUploadError(f"model.json does not match the topology of its base "
                                     f"'{base}' ({reference.version}): {difference}")

    def _check_against_existing(self, name: str, topology: Topology) -> None:
        versions = self._saved_versions(name)
        if not versions:
            return
        latest = versions[-1]
        difference = topology_difference(topology, self.topology(latest))
        if difference is not None:
            raise ConflictError(f"model '{name}' already holds versions of another topology "
                                f"({latest.version}: {difference.replace('the base', 'it')}); "
                                "save this one under a new name")

    def _write(self, name: str, model_json: bytes, shards: dict[str, bytes], base: str,
               description: _Description) -> ModelVersion:
        created = datetime.now(timezone.utc)
        meta = {"name": name, "base": base, "created": created.isoformat(),
                "parameters": description.parameters, "size_bytes": description.size_bytes,
                "files": list(description.files)}
        staging = Path(tempfile.mkdtemp(dir=self.store_dir, prefix=STAGING_PREFIX))
        try:
            _write_file(staging / MODEL_JSON, model_json)
            for file, data in shards.items():
                _write_file(staging / file, data)
            _write_file(staging / META_JSON, json.dumps(meta, indent=1).encode("utf-8"))
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes 0700; served files must be readable
            folder = self._rename_into_place(staging, self.store_dir / name)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return ModelVersion(name, folder.name, folder, created, description.size_bytes, base,
                            description.parameters, description.files)

    def _rename_into_place(self, staging: Path, model_folder: Path) -> Path:
        """Rename `staging` to the next free `v<N>`; a taken number means try the next one."""
        for _ in range(MAX_RENAME_ATTEMPTS):
            model_folder.mkdir(exist_ok=True)
            numbers = [int(m.group(1)) for p in model_folder.iterdir()
                       if (m := VERSION_PATTERN.match(p.name))]
            target = model_folder / f"v{max(numbers, default=0) + 1}"
            try:
                os.rename(staging, target)  # fails when target exists: versions are never empty
                return target
            except FileNotFoundError:
                if not staging.exists():
                    raise
            except OSError as error:
                if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
        raise ConflictError(f"no free version number under {model_folder.name} after "
                            f"{MAX_RENAME_ATTEMPTS} attempts")


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
