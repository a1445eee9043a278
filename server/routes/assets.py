"""The runtime files at content-hashed URLs, where they are (GET /api/runtime, for the
public module static/shadernet.mjs), and the service worker at the site's root.

Pyodide and TF.js are mounted in main.py. The service worker must be served from `/` to
control the page at `/` (a worker's scope is its own folder by default).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.responses import FileResponse, Response

from server.deps import AssetsDep, SettingsDep

router = APIRouter(tags=["assets"])
SERVICE_WORKER = "sw.js"


class ServedSnapshotPublic(BaseModel):
    """A memory snapshot of the booted interpreter, made at set-up (`make snapshot`)."""

    url: str = Field(description="Where its bytes are (immutable, gzip-encoded; CORS as "
                                 "every read).", examples=["/runtime/0123456789abcdef/snapshot.bin"])
    key: str = Field(description="The whole key it was made under: startup_key, then the "
                                 "engine's traits and the worker's preparation code, '|' "
                                 "between. A browser restores it only under exactly its "
                                 "own key.")
    digest: str = Field(description="'sha256:<hex>' of the bytes; checked while restoring "
                                    "when there is no checksum.")
    checksum: str | None = Field(default=None, description="'lanes64:<hex>', the cheaper "
                                 "checksum of the bytes (server/snapshot_checksum.py); "
                                 "checked while restoring.")
    bytes: int = Field(description="Its length (about 13 MB).")


class RuntimePublic(BaseModel):
    """Where the runtime's start-up files are; their URLs move when their contents change."""

    pyodide_base_url: str = Field(description="Pyodide's folder (pyodide.mjs, its wasm, "
                                              "lock file).", examples=["/pyodide/314.0.7/"])
    pyodide_stdlib_url: str = Field(description="The stdlib zip: compiled .pyc once built, "
                                                "else Pyodide's own.")
    runtime_wheel_url: str = Field(description="The shadernet runtime wheel, content-hashed.")
    startup_key: str = Field(description="Names those files and the Pyodide build: the key "
                                         "a browser keeps its memory snapshot under (a "
                                         "snapshot of other files is never restored).")
    served_snapshot: ServedSnapshotPublic | None = Field(
        description="The snapshot offered to a browser that has none of its own under "
                    "that key (a first visit); null when set-up made none for these files.")


@router.get("/runtime/{digest}/{filename}", include_in_schema=False)
def runtime_file(digest: str, filename: str, assets: AssetsDep, request: Request) -> Response:
    return assets.runtime.response(digest, filename, request.scope)


@router.get("/api/runtime", response_model=RuntimePublic)
def runtime_urls(assets: AssetsDep) -> RuntimePublic:
    """Where Pyodide, its stdlib and the runtime wheel are, the key a browser keeps its
    memory snapshot of them under and the snapshot served for a first visit: what the
    public module (/static/shadernet.mjs) starts from when a page passes no URLs, and the
    same values as the drawing page's config. Paths are this server's (a page of another
    origin resolves them against it)."""
    urls = assets.urls()
    return RuntimePublic(**{key: urls[key] for key in RuntimePublic.model_fields})


@router.get(f"/{SERVICE_WORKER}", include_in_schema=False)
def service_worker(settings: SettingsDep) -> Response:
    path = settings.static_dir / SERVICE_WORKER
    if not path.is_file():
        raise HTTPException(404, f"{SERVICE_WORKER} is missing from {settings.static_dir.name}/")
    # no-cache: the browser checks for a new service worker on every visit.
    return FileResponse(path, media_type="text/javascript",
                        headers={"Cache-Control": "no-cache"})
