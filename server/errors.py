"""Every error response is `{"detail": "<one sentence>"}`, request validation included."""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from server.storage import (ConflictError, InvalidNameError, InvalidUploadError, NotFoundError,
                            StoreError, UploadTooLargeError)

STATUS = {InvalidNameError: 400, NotFoundError: 404, ConflictError: 409,
          UploadTooLargeError: 413, InvalidUploadError: 422}


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
