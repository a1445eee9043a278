"""GET /docs: Swagger UI, from our own copy of `swagger-ui-dist` when installed (no CDN can
be reached from many networks), else from the CDN FastAPI uses by default.

Its one inline script is allowed by its hash, in a policy for this page alone (the CDN's
origin too when the files come from there); Swagger UI also sets inline styles.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from server.deps import AssetsDep

router = APIRouter(include_in_schema=False)
CDN = "https://cdn.jsdelivr.net"
CDN_FILES = {"swagger_js_url": f"{CDN}/npm/swagger-ui-dist@5/swagger-ui-bundle.js",
             "swagger_css_url": f"{CDN}/npm/swagger-ui-dist@5/swagger-ui.css",
             "swagger_favicon_url": "data:,"}


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request, assets: AssetsDep) -> HTMLResponse:
    if assets.swagger_ui is not None:
        base = assets.swagger_ui.url
        files = {"swagger_js_url": base + "swagger-ui-bundle.js",
                 "swagger_css_url": base + "swagger-ui.css",
                 "swagger_favicon_url": base + "favicon-32x32.png"}
    else:
        files = CDN_FILES
    page = get_swagger_ui_html(openapi_url=request.app.openapi_url,
                               title=f"{request.app.title} - API docs", **files)
    source = "" if assets.swagger_ui is not None else f" {CDN}"
    page.headers["Content-Security-Policy"] = docs_policy(page.body.decode("utf-8"), source)
    return page


def docs_policy(html: str, extra_source: str = "") -> str:
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in re.findall(r"<script>(.*?)</script>", html, re.S))
    return (f"default-src 'self'; script-src 'self'{extra_source} {hashes}; "
            f"style-src 'self'{extra_source} 'unsafe-inline'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
