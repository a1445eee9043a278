"""The runtime wheel at a content-hashed URL (Pyodide and TF.js are mounted in main.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from server.assets import wheel_response
from server.deps import AssetsDep

router = APIRouter(tags=["assets"], include_in_schema=False)


@router.get("/runtime/{digest}/{filename}")
def runtime_wheel(digest: str, filename: str, assets: AssetsDep, request: Request) -> Response:
    return wheel_response(assets.wheel, digest, filename, request.scope)
