"""GET /healthz: the server answers and can read its model folders."""

from __future__ import annotations

from fastapi import APIRouter

from server.deps import StoreDep
from server.schemas import HealthPublic

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthPublic, summary="Liveness check")
def healthz(store: StoreDep) -> HealthPublic:
    return HealthPublic(status="ok", models=len(store.list_models()))
