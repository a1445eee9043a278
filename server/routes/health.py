"""GET /healthz: the server answers and can read its model folders.

Answered on the event loop itself, not in the thread pool that uploads and downloads
share, so it stays quick while they keep the pool busy; the listing it counts reads
cached digests and small meta.json files only.
"""

from __future__ import annotations

from fastapi import APIRouter

from server.deps import StoreDep
from server.schemas import HealthPublic

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthPublic, summary="Liveness check")
async def healthz(store: StoreDep) -> HealthPublic:
    return HealthPublic(status="ok", models=len(store.list_models()))
