"""What the API returns, as pydantic models (the upload itself is a multipart form)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from server.store import ModelVersion


class ErrorPublic(BaseModel):
    detail: str = Field(description="One sentence: what was wrong, where, expected vs got.")


class HealthPublic(BaseModel):
    status: str = Field(examples=["ok"])
    models: int = Field(description="How many models (shipped or saved) the server lists.")


class AccessPublic(BaseModel):
    """What a client needs to know before it tries to save or delete."""

    read_only: bool = Field(description="Writes (save, delete) are turned off.")
    upload_token_required: bool = Field(
        description="Writes need 'Authorization: Bearer <token>'.")
    writes_per_minute: int = Field(description="Writes one client may make per minute.")
    max_store_bytes: int | None = Field(description="Quota for all saved versions; null: none.")


class ModelVersionPublic(BaseModel):
    name: str = Field(examples=["default"])
    version: str = Field(description="'shipped' (read-only, ships with the server) "
                                     "or 'v1', 'v2', ...", examples=["shipped", "v3"])
    created: datetime
    size_bytes: int = Field(description="model.json plus all weight shards.")
    base: str | None = Field(description="The model this version was fine-tuned from; "
                                         "null when shipped or trained from scratch.")
    parameters: int = Field(description="Number of weight values.")
    read_only: bool
    model_json_url: str = Field(description="Where to fetch model.json; shards sit beside it. "
                                "A shipped version's names its content "
                                "(versions/shipped@<token>/): cached for good, a 404 once "
                                "the shipped files change (versions/shipped/ stays, revalidated).")
    files: list[str] = Field(description="model.json, then the weight shards in manifest order.")

    @classmethod
    def of(cls, version: ModelVersion) -> "ModelVersionPublic":
        return cls(name=version.name, version=version.version, created=version.created,
                   size_bytes=version.size_bytes, base=version.base, parameters=version.parameters,
                   read_only=version.read_only,
                   model_json_url=model_json_url(version, pinned=True),
                   files=list(version.files))


class ModelPublic(BaseModel):
    name: str
    versions: list[ModelVersionPublic] = Field(description="Shipped first, then v1, v2, ...")


def model_json_url(version: ModelVersion, pinned: bool = False) -> str:
    """Its model.json's URL; `pinned`, for a shipped version, names its content's digest
    (cached for good, server/routes/models.py) instead of revalidated each time."""
    name = f"{version.version}@{version.content_token}" if pinned and version.content_token \
        else version.version
    return f"/api/models/{version.name}/versions/{name}/model.json"
