"""Headers every response carries, and HEAD answered wherever GET is (pure ASGI).

The Content-Security-Policy allows exactly what the page uses: its scripts and module
worker from this origin, Pyodide compiling WebAssembly ('wasm-unsafe-eval'), fetches to
this origin, canvases' data:/blob: images; nothing may frame it. No 'unsafe-eval':
neither Pyodide nor the runtime evaluates JS text (the page's tests fail on any CSP
violation). A response may
bring its own policy (the API docs page hashes its inline script); it is kept.

Reads from the origins of `Settings.cors_origins` (another site importing the public
module, whose worker then loads Pyodide, the runtime wheel and models from here) get
`Access-Control-Allow-Origin` and `Cross-Origin-Resource-Policy: cross-origin`; only
GET and HEAD, which need no preflight. Writes never get CORS: the access middleware
decides them by `--allow-origin`.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self'",
    "connect-src 'self'",
    "img-src 'self' data: blob:",
    "style-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


CORS_METHODS = ("GET", "HEAD")


def cors_origin(scope: Scope, allowed: tuple[str, ...]) -> str | None:
    """The request's Origin when it may read with CORS (allowed, a GET or HEAD), else None."""
    if not allowed or scope["method"] not in CORS_METHODS:
        return None
    origin = next((value.decode("latin-1") for key, value in scope["headers"]
                   if key == b"origin"), None)
    if origin is None or origin == "null":
        return None
    return origin if "*" in allowed or origin.lower().rstrip("/") in allowed else None


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, cors_origins: tuple[str, ...] = ()) -> None:
        self.app = app
        self.cors_origins = tuple(cors_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        reader = cors_origin(scope, self.cors_origins)
        # With CORS on, a cached answer is only good for the Origin it was given to.
        varies = bool(self.cors_origins) and scope["method"] in CORS_METHODS

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if varies:
                    headers.add_vary_header("Origin")
                if reader is not None:
                    headers["Access-Control-Allow-Origin"] = reader
                    headers["Cross-Origin-Resource-Policy"] = "cross-origin"
                for key, value in SECURITY_HEADERS.items():
                    headers.setdefault(key, value)
                headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            await send(message)

        await self.app(scope, receive, with_headers)


class HeadAsGetMiddleware:
    """HEAD runs the GET route and sends its status and headers without the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
