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


# The modules the page hints (modulepreload) when it is not bundled: every module its
# entry script imports at start (not shadernet_trainer.mjs: imported when the Train panel
# opens, it would only compete with the worker's own modules while it starts).
PAGE_MODULES = ("app.js", "preload.js", "engine_traits.js", "snapshot_opfs.js", "shadernet.mjs",
                "shadernet_startup.mjs", "shadernet_model.mjs", "page.js", "bars.js", "chart.js",
                "hood.js", "layers_view.js", "meter.js", "models.js", "pen.js", "preprocess.js",
                "startup.js", "status.js", "teach.js", "upload_token.js", "train_view.js",
                "train_form.js", "train_results.js", "mnist_data.js")


def page_scripts(assets) -> dict:
    """The page's entry module and the modules it hints: the bundle's, else static/'s."""
    bundle = assets.bundle.current()
    if bundle is not None:
        return {"page_entry_url": bundle.url + bundle.entry,
                "page_module_urls": [bundle.url + name for name in bundle.preload]}
    static = assets.static.url()
    return {"page_entry_url": static + "app.js",
            "page_module_urls": [static + name for name in PAGE_MODULES]}


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
    return TEMPLATES.TemplateResponse(request, "index.html",
                                      {"config": config, **config, **page_scripts(assets)},
                                      headers={"Cache-Control": "no-cache"})
