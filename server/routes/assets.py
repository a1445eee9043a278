"""The runtime files at content-hashed URLs, where they are (GET /api/runtime, for the
public module static/shadernet.mjs), and the service worker at the site's root.

Pyodide and TF.js are mounted in main.py. The service worker must be served from `/` to
control the page at `/` (a worker's scope is its own folder by default).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import FileResponse, Response

from server.deps import AssetsDep, SettingsDep

router = APIRouter(tags=["assets"], include_in_schema=False)
SERVICE_WORKER = "sw.js"


@router.get("/runtime/{digest}/{filename}")
def runtime_file(digest: str, filename: str, assets: AssetsDep, request: Request) -> Response:
    return assets.runtime.response(digest, filename, request.scope)


@router.get("/api/runtime")
def runtime_urls(assets: AssetsDep) -> dict[str, str | None]:
    """Where Pyodide, its stdlib and the runtime wheel are served (they move per version)."""
    urls = assets.urls()
    return {key: urls[key] for key in ("pyodide_base_url", "pyodide_stdlib_url",
                                       "runtime_wheel_url")}


@router.get(f"/{SERVICE_WORKER}")
def service_worker(settings: SettingsDep) -> Response:
    path = settings.static_dir / SERVICE_WORKER
    if not path.is_file():
        raise HTTPException(404, f"{SERVICE_WORKER} is missing from {settings.static_dir.name}/")
    # no-cache: the browser checks for a new service worker on every visit.
    return FileResponse(path, media_type="text/javascript",
                        headers={"Cache-Control": "no-cache"})
