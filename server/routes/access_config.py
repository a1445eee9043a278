"""GET /api/config: whether writes are possible and need a token (also in the page config)."""

from __future__ import annotations

from fastapi import APIRouter

from server.deps import SettingsDep
from server.schemas import AccessPublic
from server.settings import Settings

router = APIRouter(prefix="/api/config", tags=["config"])


def access_of(settings: Settings) -> AccessPublic:
    return AccessPublic(read_only=settings.read_only,
                        upload_token_required=settings.upload_token is not None,
                        writes_per_minute=settings.writes_per_minute,
                        max_store_bytes=settings.max_store_bytes)


@router.get("", response_model=AccessPublic, summary="What writes the server accepts")
def access_config(settings: SettingsDep) -> AccessPublic:
    return access_of(settings)
