"""The model API: list models and versions, fetch a version's files, upload or delete a version.

Writes reach these routes only past server/access.py (host, origin, rate, token). A
StoreError raised here becomes its JSON status in server/errors.py.

Routes take `{name:path}` so that a name holding '/' or '..' still reaches the name check
and gets a 400 with the naming rule, rather than a bare 404 from the router. The most
specific routes are declared first for the same reason.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import Response

from server.assets import IMMUTABLE, REVALIDATE, cached_file_response
from server.deps import ModelName, StoreDep
from server.schemas import ErrorPublic, ModelPublic, ModelVersionPublic, model_json_url
from server.store import NAME_RULE, SHIPPED, IncomingFile, NotFoundError
from server.store.names import split_pinned
from server.store.bounded_json import MAX_JSON_BYTES

router = APIRouter(prefix="/api/models", tags=["models"])


def _errors(*statuses: int) -> dict:
    meanings = {400: "Bad model name", 401: "An upload token is required, or it is wrong",
                403: "Read-only server, or a write from another origin",
                404: "No such model, version or file",
                409: "Conflicts with what is stored (shipped name, other topology)",
                413: "Upload over the size limit",
                422: "Not a valid model, or its topology differs from the base's",
                429: "Too many writes from this client; see Retry-After",
                507: "The store is full (quota)"}
    return {status: {"model": ErrorPublic, "description": meanings[status]} for status in statuses}


@router.get("", response_model=list[ModelPublic], summary="List models and their versions")
def list_models(store: StoreDep) -> list[ModelPublic]:
    return [ModelPublic(name=name, versions=[ModelVersionPublic.of(v) for v in versions])
            for name, versions in store.list_models().items()]


@router.get("/{name:path}/versions/{version}/{file:path}", summary="Fetch a version's file",
            response_class=Response, responses={
                200: {"description": "model.json (application/json) or a weight shard "
                                     "(application/octet-stream)"},
                **_errors(400, 404)})
def get_file(name: ModelName, version: str, file: str, store: StoreDep,
             request: Request) -> Response:
    """model.json or one of the shards its manifest lists. Saved versions never change, so
    they are cacheable for a year; shipped ones are revalidated (ETag), unless the version
    is pinned ('shipped@<token>', the page's start-up model): files of that content only,
    so cacheable for a year too, and a token of files since replaced is a 404 that names
    the current one (never new files under an old token, mixed with cached old ones)."""
    version, token = split_pinned(version)
    found, path = store.file_path(name, version, file)
    if token is not None and token != found.content_token:
        current = model_json_url(found, pinned=True) if found.content_token else None
        raise NotFoundError(f"model '{found.name}' version '{version}@{token[:40]}': the "
                            f"shipped files changed since; "
                            + (f"the current ones are at {current}" if current
                               else "only shipped versions are pinned"))
    cache_control = REVALIDATE if found.version == SHIPPED and token is None else IMMUTABLE
    return cached_file_response(path, cache_control, Headers(scope=request.scope))


@router.get("/{name:path}/versions/{version}", response_model=ModelVersionPublic,
            summary="Describe one version", responses=_errors(400, 404))
def get_version(name: ModelName, version: str, store: StoreDep) -> ModelVersionPublic:
    return ModelVersionPublic.of(store.get_version(name, version))


@router.delete("/{name:path}/versions/{version}", status_code=204, response_class=Response,
               summary="Delete a saved version", responses=_errors(400, 401, 403, 404, 409, 429))
def delete_version(name: ModelName, version: str, store: StoreDep) -> Response:
    """Remove a saved version (v1, v2, ...); shipped models cannot be deleted. Its number is
    never given to another upload, so cached copies of its files can never be mistaken."""
    store.delete_version(name, version)
    return Response(status_code=204)


@router.post("/{name:path}/versions", status_code=201, response_model=ModelVersionPublic,
             summary="Upload a new version",
             responses=_errors(400, 401, 403, 409, 413, 422, 429, 507))
async def upload_version(
        name: ModelName,
        store: StoreDep,
        model_json: Annotated[UploadFile, File(description="model.json, TF.js layers format.")],
        shards: Annotated[list[UploadFile], File(
            description="The weight shards, each named exactly as in model.json's "
                        "weightsManifest paths (e.g. group1-shard1of1.bin).")],
        base: Annotated[str | None, Form(description=f"The model this was fine-tuned from "
                                                     f"({NAME_RULE}; default 'default'); the "
                                                     "upload must have its topology.")] = None,
        from_scratch: Annotated[bool, Form(description="True: trained from scratch, no base "
                                                       "(a new model of any topology the "
                                                       "reader accepts; later versions of the "
                                                       "name must keep it).")] = False,
) -> ModelVersionPublic:
    """Store a fine-tuned model as `name`'s next version (v1, v2, ...).

    model.json is parsed within JSON limits; its declared layers, weight shapes and shard
    lengths must match the base model's before a shard byte is read; then the same reader
    the page uses validates and decodes it (schema, shapes, finite weights), and the full
    topology (layer configs too) must equal the base's. Nothing is written unless
    everything checks out; an existing version and a shipped model are never overwritten.
    """
    files: dict[str, IncomingFile] = {}
    for upload in shards:
        filename = upload.filename or ""
        if not filename:
            raise HTTPException(422, "every shard must be sent as a file with its manifest name "
                                     "(e.g. group1-shard1of1.bin); one had no file name")
        if filename in files:
            raise HTTPException(422, f"shard file {filename[:80]!r} was uploaded twice")
        files[filename] = _incoming(upload)
    if _size_of(model_json) > MAX_JSON_BYTES:
        raise HTTPException(413, f"model.json is {_size_of(model_json)} bytes, over the limit of "
                                 f"{MAX_JSON_BYTES} bytes for an uploaded model.json")
    model_json_bytes = await model_json.read()
    if from_scratch and base is not None:
        raise HTTPException(422, f"base '{base[:80]}' and from_scratch=true contradict each "
                                 "other: a model trained from scratch has no base")
    saved = await run_in_threadpool(store.save_version, name, model_json_bytes, files,
                                    None if from_scratch else base or "default")
    return ModelVersionPublic.of(saved)


def _size_of(upload: UploadFile) -> int:
    if upload.size is not None:
        return upload.size
    upload.file.seek(0, 2)
    size = upload.file.tell()
    upload.file.seek(0)
    return size


def _incoming(upload: UploadFile) -> IncomingFile:
    """The shard as spooled by the multipart parser; its bytes are read only if needed."""
    def read() -> bytes:
        upload.file.seek(0)
        return upload.file.read()
    return IncomingFile(_size_of(upload), read)


@router.get("/{name:path}/versions", response_model=list[ModelVersionPublic],
            summary="List one model's versions", responses=_errors(400, 404))
def list_versions(name: ModelName, store: StoreDep) -> list[ModelVersionPublic]:
    return [ModelVersionPublic.of(v) for v in store.get_model(name)]


@router.get("/{name:path}", response_model=ModelPublic, summary="Describe one model",
            responses=_errors(400, 404))
def get_model(name: ModelName, store: StoreDep) -> ModelPublic:
    versions = store.get_model(name)
    return ModelPublic(name=name, versions=[ModelVersionPublic.of(v) for v in versions])
