"""Errors as HTTP responses: a JSON body ``{"error": {"code", "message", "field"}}``.

Before the first byte of a response a failure is a 4xx/5xx with that body; once a stream
has started it is an ``error`` event followed by the end of the stream (see ``wire``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from sluice.errors import ConfigError, SluiceError
from sluice.runs import RunNotFoundError
from sluice.store import RecordNotFoundError, StoreError

logger = logging.getLogger(__name__)


class APIError(SluiceError):
    """A request the server refuses, with the status, a stable code and the field at fault."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None):
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        super().__init__(message)


def error_response(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "field": field}}, status_code=status
    )


def validation_error_response(errors: Sequence[Any]) -> JSONResponse:
    """A 422 naming the first invalid field (pydantic's or FastAPI's error list)."""
    first = errors[0] if errors else {}
    location = [str(part) for part in first.get("loc", ()) if part != "body"]
    field = ".".join(location) or None
    message = str(first.get("msg", "invalid request"))
    if first.get("type") == "json_invalid":
        message, field = "the body is not valid JSON", None
    return error_response(422, "invalid_request", message, field)


def response_for(exc: Exception) -> JSONResponse | None:
    """The error response for an exception the API knows, or None (a 500)."""
    match exc:
        case APIError():
            return error_response(exc.status, exc.code, exc.message, exc.field)
        case RequestValidationError():
            return validation_error_response(exc.errors())
        case ConfigError():
            return error_response(400, "invalid_definition", str(exc), exc.field)
        case RunNotFoundError():
            return error_response(404, "run_not_found", f"no run {exc.run_id!r}", "run_id")
        case RecordNotFoundError():
            return error_response(404, "not_found", str(exc))
        case StoreError():
            logger.error("store failed: %s", exc)
            return error_response(503, "store_unavailable", "the database is not answering")
        case HTTPException():
            code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(
                exc.status_code, "http_error"
            )
            return error_response(exc.status_code, code, str(exc.detail))
    return None


_HANDLED = (
    APIError,
    RequestValidationError,
    ConfigError,
    RunNotFoundError,
    RecordNotFoundError,
    StoreError,
    HTTPException,
)


def install_error_handlers(app: FastAPI) -> None:
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        response = response_for(exc)
        if response is None:  # pragma: no cover  # only the classes below are registered
            raise exc
        return response

    for exc_class in _HANDLED:
        app.add_exception_handler(exc_class, handle)
