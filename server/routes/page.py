"""GET /: the drawing page, rendered with the asset URLs so it never hard-codes a version."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from server.deps import AssetsDep, SettingsDep, StoreDep
from server.routes.access_config import access_of
from server.schemas import model_json_url
from server.store import StoreError

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
router = APIRouter(tags=["page"], include_in_schema=False)


def page_config(request: Request, assets, settings, store) -> dict:
    """Everything the page needs to know about where things are (JSON-serializable)."""
    try:
        versions = store.get_model(settings.default_model)
        chosen = versions[0] if versions[0].read_only else versions[-1]  # shipped, else newest
        # Pinned: a repeat visit reads the shipped model from its cache, no request.
        default_model_url = model_json_url(chosen, pinned=True)
    except StoreError:
        default_model_url = None  # no default model yet: the page says so
    access = access_of(settings)
    return {**assets.urls(), "default_model": settings.default_model,
            "default_model_url": default_model_url, "models_api_url": "/api/models",
            "mnist_url": "/api/mnist", "read_only": access.read_only,
            "upload_token_required": access.upload_token_required}


@router.get("/", response_class=HTMLResponse)
def index(request: Request, assets: AssetsDep, settings: SettingsDep, store: StoreDep):
    config = page_config(request, assets, settings, store)
    return TEMPLATES.TemplateResponse(request, "index.html", {"config": config, **config},
                                      headers={"Cache-Control": "no-cache"})
