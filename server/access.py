"""Who may do what, decided before a request body is read (pure ASGI middleware).

Every request: the Host header must name this server (`allowed_hosts`, localhost names by
default), so a page on another domain that rebinds its DNS to us gets nothing.

Every write (any method but GET, HEAD, OPTIONS), in this order:
1. read-only mode refuses it (403);
2. it must come from this server's own pages: a browser's `Origin` must be the server's
   own (or one of `allowed_origins`), and `Sec-Fetch-Site`, when sent without an Origin,
   must say same-origin. Requests with neither are not from a browser page, so not CSRF;
   the token (4) guards those (403 otherwise);
3. a per-client rate limit (429 with Retry-After), counted before the token so guessing
   it is slow too;
4. the upload token, when one is set: `Authorization: Bearer <token>` (401).
"""

from __future__ import annotations

import hmac
import math
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from server.rate_limit import WriteRateLimiter
from server.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_PORTS = {"http": "80", "https": "443"}


class AccessMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.limiter = WriteRateLimiter(settings.writes_per_minute)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = self.host_refusal(headers)
        if refusal is None and scope["method"] not in SAFE_METHODS:
            refusal = self.write_refusal(scope, headers)
        if refusal is not None:
            await _drain(scope, receive, self.settings.max_upload_bytes)
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def host_refusal(self, headers: Headers) -> JSONResponse | None:
        host = headers.get("host")
        if host is None:
            return _refuse(400, "the request has no Host header; this server answers only "
                                "requests naming it")
        name = host_name(host)
        allowed = self.settings.allowed_hosts
        if "*" in allowed or name in allowed:
            return None
        return _refuse(400, f"Host {host[:100]!r} is not served here (served: "
                            f"{', '.join(allowed)}); start the server with "
                            f"--allowed-host {name[:100]} if this is its name")

    def write_refusal(self, scope: Scope, headers: Headers) -> JSONResponse | None:
        settings = self.settings
        if settings.read_only:
            return _refuse(403, "this server is read-only (--read-only): saving and deleting "
                                "versions are turned off")
        cross = self.cross_origin(headers)
        if cross is not None:
            return _refuse(403, f"cross-origin write refused: {cross}; only this server's own "
                                "pages may save or delete (start it with --allow-origin "
                                "ORIGIN to accept another)")
        client = (scope.get("client") or ("unknown",))[0]
        wait = self.limiter.take(client)
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            return _refuse(429, f"too many writes from {client}: at most "
                                f"{settings.writes_per_minute} per minute; try again in "
                                f"{seconds} s", {"Retry-After": str(seconds)})
        if settings.upload_token is not None:
            return self.token_refusal(headers)
        return None

    def cross_origin(self, headers: Headers) -> str | None:
        """Why the request is not from one of our pages, or None if it is (or no browser)."""
        origin = headers.get("origin")
        site = headers.get("sec-fetch-site")
        if origin is None:
            if site is None or site in ("same-origin", "none"):
                return None
            return f"Sec-Fetch-Site is {site[:40]!r} and no Origin was sent"
        normalized = origin.lower().rstrip("/")
        if normalized in self.settings.allowed_origins:
            return None
        host = headers.get("host", "")
        if origin_netloc(normalized) == netloc_without_default_port(host.lower(), normalized):
            return None
        return f"Origin {origin[:100]!r} is not this server ({host[:100]!r})"

    def token_refusal(self, headers: Headers) -> JSONResponse | None:
        scheme, _, given = headers.get("authorization", "").partition(" ")
        challenge = {"WWW-Authenticate": 'Bearer realm="shadernet uploads"'}
        if scheme.lower() != "bearer" or not given.strip():
            return _refuse(401, "this server requires an upload token to save or delete "
                                "versions: send 'Authorization: Bearer <token>' (ask whoever "
                                "runs the server for the token)", challenge)
        if not hmac.compare_digest(given.strip().encode(), self.settings.upload_token.encode()):
            return _refuse(401, "the upload token is wrong: this server requires the token it "
                                "was started with, as 'Authorization: Bearer <token>'", challenge)
        return None


def host_name(host: str) -> str:
    """'Example.org:8000' -> 'example.org'; '[::1]:8000' -> '::1'."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0].rstrip(".") if host.count(":") == 1 else host.rstrip(".")


def origin_netloc(origin: str) -> str:
    parts = urlsplit(origin)
    netloc = parts.netloc
    default = DEFAULT_PORTS.get(parts.scheme)
    return netloc.removesuffix(f":{default}") if default else netloc


def netloc_without_default_port(host: str, origin: str) -> str:
    default = DEFAULT_PORTS.get(urlsplit(origin).scheme)
    return host.removesuffix(f":{default}") if default else host


async def _drain(scope: Scope, receive: Receive, limit: int) -> None:
    """Read and drop the request body (up to `limit` bytes) before answering: a server that
    closes a connection with unread data makes the client's TCP stack reset it, and the
    client then sees 'connection reset' instead of our refusal. Nothing is kept."""
    declared = Headers(scope=scope).get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return  # too large to be worth reading; the client may see a reset
    received = 0
    while received <= limit:
        message = await receive()
        if message["type"] != "http.request":
            return
        received += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def _refuse(status: int, detail: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status,
                        headers={"Connection": "close", **(headers or {})})
