"""GET /docs: Swagger UI from our own copy of `swagger-ui-dist` (no CDN can be reached)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from server.deps import AssetsDep

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request, assets: AssetsDep) -> HTMLResponse:
    base = assets.swagger_ui.url
    return get_swagger_ui_html(openapi_url=request.app.openapi_url,
                               title=f"{request.app.title} - API docs",
                               swagger_js_url=base + "swagger-ui-bundle.js",
                               swagger_css_url=base + "swagger-ui.css",
                               swagger_favicon_url=base + "favicon-32x32.png")
