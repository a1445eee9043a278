"""Assembly only: settings, middleware, error handlers, routers, static mounts.

    app = create_app(Settings(models_dir=..., store_dir=...))   # tests: temporary folders
    shadernet serve                                              # server/cli.py
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from server.access import AccessMiddleware
from server.assets import IMMUTABLE, REVALIDATE, VendorFiles, VersionedStaticFiles, load_assets
from server.errors import internal_error_handler, store_error_handler, validation_error_handler
from server.http_hygiene import HeadAsGetMiddleware, SecurityHeadersMiddleware
from server.limits import BodySizeLimitMiddleware
from server.page_bundle import BUNDLE_ROOT
from server.routes import access_config, assets, docs, health, mnist, models, page, replay
from server.settings import Settings
from server.static_version import VERSIONED_ROOT
from server.store import ModelStore, StoreError

DESCRIPTION = """
Serves the shadernet drawing page, the files it loads (Pyodide, the runtime wheel,
TF.js for the benchmark) and the **model API**: shipped models are read-only
(version `shipped`); fine-tuned uploads become new versions `v1`, `v2`, ... and are
never overwritten. Every error is `{"detail": "<sentence>"}`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. Raises server.assets.AssetsError when node_modules/ is not set up."""
    settings = settings or Settings()
    found = load_assets(settings.node_modules_dir, settings.cache_dir, settings.static_dir,
                        settings.bundle_dir)
    app = FastAPI(title="shadernet", version="0.1.0", description=DESCRIPTION,
                  docs_url=None)  # routes/docs.py: local Swagger UI files, its own CSP
    app.state.settings = settings
    app.state.assets = found
    app.state.store = ModelStore(settings.models_dir, settings.store_dir,
                                 settings.max_upload_bytes, settings.max_store_bytes)
    app.state.store.list_models()  # read and check the shipped models once, now, not on a visit
    # Outermost last: headers on every answer, HEAD as GET, access before any body is read.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_upload_bytes)
    app.add_middleware(AccessMiddleware, settings=settings)
    app.add_middleware(HeadAsGetMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, cors_origins=settings.cors_origins)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StoreError, store_error_handler)
    app.add_exception_handler(Exception, internal_error_handler)
    for router in (health.router, models.router, access_config.router, replay.router,
                   mnist.router, assets.router, page.router, docs.router):
        app.include_router(router)
    for package in found.vendor_packages():
        app.mount(package.url.rstrip("/"), VendorFiles(package.directory, IMMUTABLE),
                  name=package.package)
    # Before "/static": its own prefix, so "/static" never sees /static/v/... paths.
    app.mount(VERSIONED_ROOT, VersionedStaticFiles(found.static), name="static-versioned")
    if found.bundle.cache_dir is not None:  # content-addressed folders: immutable
        app.mount(BUNDLE_ROOT, VendorFiles(found.bundle.cache_dir, IMMUTABLE, top_level_only=False),
                  name="static-bundled")
    app.mount("/static", VendorFiles(settings.static_dir, REVALIDATE, top_level_only=False),
              name="static")
    return app
