"""Shared dependencies as `Annotated` aliases; tests swap them via `app.dependency_overrides`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request

from server.assets import Assets
from server.settings import Settings
from server.store import NAME_RULE, InvalidNameError, ModelStore, check_name


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_store(request: Request) -> ModelStore:
    return request.app.state.store


def get_assets(request: Request) -> Assets:
    return request.app.state.assets


def valid_model_name(name: Annotated[str, Path(description=f"Model name: {NAME_RULE}.")]) -> str:
    """The `{name}` path parameter, checked here so every route rejects bad names alike (400)."""
    try:
        return check_name(name)
    except InvalidNameError as error:
        raise HTTPException(400, str(error)) from None


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[ModelStore, Depends(get_store)]
AssetsDep = Annotated[Assets, Depends(get_assets)]
ModelName = Annotated[str, Depends(valid_model_name)]
