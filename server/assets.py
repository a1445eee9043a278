"""The files the page loads besides itself: Pyodide, TF.js (benchmark page), the runtime files.

Each is served under a URL that changes when its contents change (the npm version, or a
content hash: server/runtime_files.py), so browsers may cache it for a year without
revalidating. They are found and built once, at start-up: a missing `node_modules/` fails
there, with the command that fixes it, not later as a 404 in the browser.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

from server.gzip_copies import GZIP_COPIES
from server.runtime_files import IMMUTABLE, RuntimeFiles
from server.page_bundle import PageBundle
from server.static_version import StaticVersion

REVALIDATE = "no-cache"  # cache, but ask (ETag) before each use: the file may change
# Explicit, so a machine's /etc/mime.types cannot change them (WebAssembly streaming
# compilation requires application/wasm).
MEDIA_TYPES = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".json": "application/json",
    ".map": "application/json",
    ".zip": "application/zip",
    ".whl": "application/zip",
    ".bin": "application/octet-stream",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
# Sent gzip-encoded when the client accepts it (zip, wheel and weight files barely shrink).
COMPRESSIBLE = frozenset({".wasm", ".mjs", ".js", ".json", ".map", ".html", ".css", ".svg"})
GZIP_MIN_BYTES = 1024
PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip",
                 "pyodide-lock.json")
SWAGGER_UI_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")
SETUP_HINT = "run `make setup` (it runs `npm install`) in the repository first"


class AssetsError(RuntimeError):
    """A file the page needs is missing at start-up; the message says how to get it."""


def media_type(path: str | os.PathLike) -> str | None:
    return MEDIA_TYPES.get(Path(path).suffix)


# ----------------------------------------------------------------------------- npm packages

@dataclass(frozen=True)
class VendorPackage:
    """An npm package's folder served at `url` (which ends in '/' and names the version)."""

    package: str
    version: str
    directory: Path
    url: str


def find_package(node_modules: Path, package: str, subdir: str, url_root: str,
                 required: tuple[str, ...] = ()) -> VendorPackage:
    """Locate `node_modules/<package>/<subdir>`, read its version, check `required` files."""
    root = node_modules / package
    manifest = root / "package.json"
    if not manifest.is_file():
        raise AssetsError(f"{manifest} is missing: the npm package '{package}' is not "
                          f"installed; {SETUP_HINT}")
    version = json.loads(manifest.read_text("utf-8"))["version"]
    directory = root / subdir if subdir else root
    for file in required:
        if not (directory / file).is_file():
            raise AssetsError(f"{directory / file} is missing ('{package}' {version} is "
                              f"incomplete); {SETUP_HINT}")
    return VendorPackage(package, version, directory, f"{url_root}/{version}/")


class VendorFiles(StaticFiles):
    """Top-level files of one folder, with fixed media types and a cache lifetime.

    Only plain files directly in the folder, with a suffix in MEDIA_TYPES, are served:
    nested `node_modules/` and stray files stay private.
    """

    def __init__(self, directory: Path, cache_control: str, top_level_only: bool = True) -> None:
        super().__init__(directory=directory, check_dir=False)
        self.cache_control = cache_control
        self.top_level_only = top_level_only

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        if (self.top_level_only and os.sep in path) or media_type(path) is None:
            return "", None
        return super().lookup_path(path)

    def file_response(self, full_path, stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        return cached_file_response(Path(full_path), self.cache_control, Headers(scope=scope),
                                    stat_result, status_code)


class VersionedStaticFiles(VendorFiles):
    """Mounted at /static/v: <version>/<path> is static/<path>, immutable when <version> is
    the current one, revalidated otherwise."""

    def __init__(self, version: StaticVersion) -> None:
        super().__init__(version.directory, IMMUTABLE, top_level_only=False)
        self.version = version

    async def get_response(self, path: str, scope: Scope) -> Response:
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(status_code=405)
        asked, _, rest = path.replace(os.sep, "/").partition("/")
        if not rest:
            raise HTTPException(status_code=404)
        full_path, stat_result = self.lookup_path(rest)
        if stat_result is None or not os.path.isfile(full_path):
            raise HTTPException(status_code=404)
        cache_control = IMMUTABLE if asked == self.version.current() else REVALIDATE
        return cached_file_response(Path(full_path), cache_control, Headers(scope=scope),
                                    stat_result)


def cached_file_response(path: Path, cache_control: str, request_headers: Headers,
                         stat_result: os.stat_result | None = None,
                         status_code: int = 200) -> Response:
    """A FileResponse with our media type and Cache-Control; 304 when the ETag matches.

    Text and wasm files of GZIP_MIN_BYTES or more go gzip-encoded to clients that accept
    it (a copy made once per file version: server/gzip_copies.py), under their own ETag.
    """
    stat_result = stat_result or path.stat()
    response = FileResponse(path, status_code=status_code, stat_result=stat_result,
                            media_type=media_type(path),
                            headers={"Cache-Control": cache_control})
    gzip_encoded = (path.suffix in COMPRESSIBLE and stat_result.st_size >= GZIP_MIN_BYTES)
    if gzip_encoded:
        response.headers["Vary"] = "Accept-Encoding"
        gzip_encoded = "gzip" in request_headers.get("accept-encoding", "")
        if gzip_encoded:
            response.headers["ETag"] = _gzip_etag(response.headers["etag"])
    # Before compressing: a revalidation is answered from the ETag alone.
    if _not_modified(response.headers, request_headers):
        return NotModifiedResponse(response.headers)
    if gzip_encoded:
        return _gzip_response(path, stat_result, response.headers, status_code)
    return response


def _gzip_response(path: Path, stat_result: os.stat_result, headers: Headers,
                   status_code: int) -> Response:
    """Pyodide's 9.6 MB wasm goes as 3.5 MB and its 1.25 MB JS as 0.26 MB. Besides the
    transfer, the smaller body fits Chromium's in-memory HTTP cache (a Playwright context,
    an incognito window), which drops entries of several MB: without it every visit
    downloaded the wasm again and could not reuse V8's cached compile of it."""
    kept = {key: headers[key] for key in ("cache-control", "last-modified", "vary", "etag")}
    kept["content-encoding"] = "gzip"
    return Response(GZIP_COPIES.get(path, stat_result), status_code=status_code,
                    media_type=headers["content-type"], headers=kept)


def _gzip_etag(etag: str) -> str:
    return etag[:-1] + '-gzip"' if etag.endswith('"') else etag + "-gzip"


def _not_modified(response_headers: Headers, request_headers: Headers) -> bool:
    match = request_headers.get("if-none-match")
    if not match:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in match.split(",")]
    return "*" in tags or response_headers["etag"] in tags


# ----------------------------------------------------------------------------- all of them

@dataclass(frozen=True)
class Assets:
    pyodide: VendorPackage
    tfjs: VendorPackage
    tfjs_wasm: VendorPackage | None
    swagger_ui: VendorPackage | None
    runtime: RuntimeFiles
    static: StaticVersion  # the page's own files
    bundle: PageBundle     # ... bundled (server/page_bundle.py)

    def vendor_packages(self) -> list[VendorPackage]:
        return [p for p in (self.pyodide, self.tfjs, self.tfjs_wasm, self.swagger_ui)
                if p is not None]

    def urls(self) -> dict[str, str | dict | None]:
        """What the page template gets, so it never hard-codes a version."""
        return {
            "static_url": self.static.url(),
            "pyodide_base_url": self.pyodide.url,
            "pyodide_module_url": self.pyodide.url + "pyodide.mjs",
            # runtime_wheel_url, pyodide_stdlib_url, startup_key, served_snapshot
            **self.runtime.urls(),
            "tfjs_url": self.tfjs.url + "tf.min.js",
            "tfjs_wasm_base_url": self.tfjs_wasm.url if self.tfjs_wasm else None,
        }


def load_assets(node_modules: Path, cache_dir: Path, static_dir: Path,
                bundle_dir: Path | None = None) -> Assets:
    """Find the npm packages and build the runtime wheel; AssetsError if something is missing.

    The runtime's and the stdlib's .pyc are compiled in the background when not cached yet.
    """
    if not node_modules.is_dir():
        raise AssetsError(f"{node_modules} is missing (Pyodide and TF.js are served from it); "
                          f"{SETUP_HINT}")
    pyodide = find_package(node_modules, "pyodide", "", "/pyodide", PYODIDE_FILES)
    tfjs = find_package(node_modules, "@tensorflow/tfjs", "dist", "/vendor/tfjs", ("tf.min.js",))
    # Optional: a benchmark comparison, and /docs without a CDN (Swagger UI's own files).
    tfjs_wasm = _optional_package(node_modules, "@tensorflow/tfjs-backend-wasm", "dist",
                                  "/vendor/tfjs-backend-wasm", ("tf-backend-wasm.min.js",))
    swagger_ui = _optional_package(node_modules, "swagger-ui-dist", "", "/vendor/swagger-ui",
                                   SWAGGER_UI_FILES)
    # Compress Pyodide's files now, off the request path (the wasm takes about 0.5 s).
    GZIP_COPIES.compress_ahead([pyodide.directory / name for name in PYODIDE_FILES
                                if Path(name).suffix in COMPRESSIBLE])
    runtime = RuntimeFiles(pyodide.directory, pyodide.url, cache_dir)
    static = StaticVersion(static_dir)
    bundle = PageBundle(static, bundle_dir)
    bundle.current()  # built in the background now if it is not yet
    return Assets(pyodide, tfjs, tfjs_wasm, swagger_ui, runtime, static, bundle)


def _optional_package(*args) -> VendorPackage | None:
    try:
        return find_package(*args)
    except AssetsError:
        return None

