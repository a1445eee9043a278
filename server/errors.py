"""Every error response is `{"detail": "<one sentence>"}`: store refusals (one handler maps
each StoreError to its status), request validation, and unexpected exceptions (500)."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from server.store import (ConflictError, InvalidNameError, InvalidUploadError, NotFoundError,
                          QuotaExceededError, StoreError, UploadTooLargeError)

log = logging.getLogger("shadernet.server")

STATUS = {InvalidNameError: 400, NotFoundError: 404, ConflictError: 409,
          UploadTooLargeError: 413, InvalidUploadError: 422, QuotaExceededError: 507}


def status_of(error: StoreError) -> int:
    for kind, status in STATUS.items():
        if isinstance(error, kind):
            return status
    return 400


def validation_sentence(error: RequestValidationError) -> str:
    """pydantic's error list as one sentence, e.g. "model_json: Field required (body)"."""
    parts = []
    for item in error.errors():
        location = [str(part) for part in item.get("loc", ())]
        source = location[0] if location else "request"
        where = ".".join(location[1:]) or source
        parts.append(f"{where}: {item.get('msg', 'invalid')} ({source})")
    return "invalid request: " + "; ".join(parts)


async def validation_error_handler(request: Request, error: RequestValidationError) -> JSONResponse:
    return JSONResponse({"detail": validation_sentence(error)}, status_code=422)


async def store_error_handler(request: Request, error: StoreError) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status_code=status_of(error))


async def internal_error_handler(request: Request, error: Exception) -> JSONResponse:
    """A bug is still answered in JSON (the page shows `detail`); the traceback goes to the log.

    `Connection: close`: Starlette re-raises the error after this answer and uvicorn then
    closes the connection, so a client must not send its next request on it (one that
    did raced the close and got a reset instead of an answer)."""
    log.error("internal error on %s %s", request.method, request.url.path,
              exc_info=(type(error), error, error.__traceback__))
    return JSONResponse({"detail": f"internal server error ({type(error).__name__}); the "
                                   "server log has the details"}, status_code=500,
                        headers={"Connection": "close"})
