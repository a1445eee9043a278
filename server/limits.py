"""Request body size limit, enforced before and while the body is read (pure ASGI).

A declared Content-Length over the limit is answered with 413 at once, without reading
the body. A body without one (chunked) is counted as it arrives and cut off at the limit:
the count raises an `HTTPException(413)` from `receive`, which FastAPI's body parsing
passes through unchanged to the JSON error handler.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    def __init__(self, detail: str) -> None:
        super().__init__(status_code=413, detail=detail)


def too_large_detail(size: int | str, limit: int) -> str:
    return (f"request body is {size} bytes, over the limit of {limit} bytes "
            f"({round(limit / 2**20, 2):g} MiB, setting max_upload_bytes)")


class BodySizeLimitMiddleware:
    """Reject request bodies larger than `max_bytes` with 413 and a JSON detail."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            response = JSONResponse({"detail": too_large_detail(declared, self.max_bytes)},
                                    status_code=413, headers={"Connection": "close"})
            await response(scope, receive, send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(too_large_detail(f"over {received}", self.max_bytes))
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge as error:  # raised where no handler turned it into a response
            if started:
                raise
            await JSONResponse({"detail": error.detail}, status_code=413)(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
